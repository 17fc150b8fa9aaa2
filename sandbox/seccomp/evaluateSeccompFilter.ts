// Answers "what would the sandbox's filter do with this call?" by running the compiled program
// in the BPF interpreter: for tests, and for explaining a job's EPERM without a kernel.
import { auditArchX86_64, type BpfInstruction } from './bpf.ts'
import { runBpfProgram } from './runBpfProgram.ts'
import { decodeSeccompReturn, type SeccompAction } from './seccompAction.ts'
import { SeccompError } from './seccompError.ts'
import { seccompProgram } from './seccompFilter.ts'
import { x86_64Syscalls } from './syscalls.ts'

export type EvaluateSeccompFilterParameters = {
  /** A name from the x86_64 table, or a raw register value (e.g. an x32 number). */
  syscall: string | number
  args?: readonly (bigint | number)[]
  /** AUDIT_ARCH_* of the caller; x86_64 unless told otherwise. */
  arch?: number
  /** Defaults to the sandbox's own compiled filter. */
  program?: readonly BpfInstruction[]
}

export type EvaluateSeccompFilterReturnType = SeccompAction

export function evaluateSeccompFilter({
  syscall,
  args = [],
  arch = auditArchX86_64,
  program = seccompProgram(),
}: EvaluateSeccompFilterParameters): EvaluateSeccompFilterReturnType {
  const nr = typeof syscall === 'number' ? syscall : (x86_64Syscalls as Record<string, number>)[syscall]
  if (nr === undefined) {
    throw new SeccompError('SECCOMP_UNKNOWN_SYSCALL', `"${syscall}" is not an x86_64 system call name; use a name from syscalls.ts or pass the number.`)
  }
  return decodeSeccompReturn(runBpfProgram(program, { nr, arch, args: args.map((arg) => BigInt(arg)) }))
}
