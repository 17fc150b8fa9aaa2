// A classic-BPF interpreter for seccomp programs, so tests can run the compiled filter over
// synthetic `seccomp_data` without a kernel. It refuses what the kernel's seccomp_check_filter
// refuses (unknown opcodes, unaligned or out-of-range loads, jumps past the end).
import { bpf, seccompData, type BpfInstruction } from './bpf.ts'
import { SeccompError } from './seccompError.ts'

export type SeccompData = {
  /** The syscall number as the 32-bit register value (x32 numbers have bit 30 set). */
  nr: number
  arch: number
  instructionPointer?: bigint
  /** Up to six 64-bit argument registers; missing ones are 0. */
  args?: readonly bigint[]
}

/** Returns the program's raw 32-bit return value. */
export function runBpfProgram(program: readonly BpfInstruction[], data: SeccompData): number {
  const bytes = Buffer.alloc(seccompData.size)
  bytes.writeUInt32LE(data.nr >>> 0, seccompData.nr)
  bytes.writeUInt32LE(data.arch >>> 0, seccompData.arch)
  bytes.writeBigUInt64LE(BigInt.asUintN(64, data.instructionPointer ?? 0n), seccompData.instructionPointer)
  ;(data.args ?? []).slice(0, 6).forEach((arg, index) => {
    bytes.writeBigUInt64LE(BigInt.asUintN(64, arg), seccompData.argLow(index))
  })

  const invalid = (pc: number, why: string): SeccompError =>
    new SeccompError('SECCOMP_INVALID_PROGRAM', `BPF instruction ${pc} ${why}; the kernel would refuse this program.`)
  let accumulator = 0
  let pc = 0
  while (pc < program.length) {
    const { code, jt, jf, k } = program[pc]!
    const next = pc + 1
    switch (code) {
      case bpf.ldWAbs:
        if (k % 4 !== 0 || k + 4 > seccompData.size) throw invalid(pc, `loads from offset ${k} outside seccomp_data`)
        accumulator = bytes.readUInt32LE(k)
        pc = next
        break
      case bpf.aluAndK:
        accumulator = (accumulator & k) >>> 0
        pc = next
        break
      case bpf.ja:
        pc = next + k
        break
      case bpf.jeqK:
        pc = next + (accumulator === k >>> 0 ? jt : jf)
        break
      case bpf.jgtK:
        pc = next + (accumulator > k >>> 0 ? jt : jf)
        break
      case bpf.jgeK:
        pc = next + (accumulator >= k >>> 0 ? jt : jf)
        break
      case bpf.jsetK:
        pc = next + ((accumulator & k) !== 0 ? jt : jf)
        break
      case bpf.retK:
        return k >>> 0
      default:
        throw invalid(pc, `has opcode 0x${code.toString(16)}, which this interpreter does not know`)
    }
  }
  throw invalid(pc, 'is past the end of the program (a path without a return)')
}
