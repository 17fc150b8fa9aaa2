// Typed errors of the seccomp compiler and interpreter. They only fire on a broken allowlist or
// program (a bug in this repository, never a job's fault), so each message names the rule to fix.
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type SeccompErrorCode =
  /** A rule names a system call that the syscall table does not have. */
  | 'SECCOMP_UNKNOWN_SYSCALL'
  /** Two rules for the same system call: the filter could only honour one of them. */
  | 'SECCOMP_DUPLICATE_RULE'
  /** A rule's argument condition can never be checked as written. */
  | 'SECCOMP_INVALID_RULE'
  /** The compiled program exceeds the kernel's BPF_MAXINSNS. */
  | 'SECCOMP_PROGRAM_TOO_LONG'
  /** A BPF program that the kernel would refuse (bad opcode, jump out of range, no return). */
  | 'SECCOMP_INVALID_PROGRAM'

/** Every code is a bug in this repository's rules, never a job's fault. */
export const seccompErrorCodes: ErrorCodeTable<SeccompErrorCode> = {
  SECCOMP_UNKNOWN_SYSCALL: hostError,
  SECCOMP_DUPLICATE_RULE: hostError,
  SECCOMP_INVALID_RULE: hostError,
  SECCOMP_PROGRAM_TOO_LONG: hostError,
  SECCOMP_INVALID_PROGRAM: hostError,
}

export class SeccompError extends SandrunError<SeccompErrorCode> {
  override name = 'SeccompError'

  constructor(code: SeccompErrorCode, message: string) {
    super(code, message, seccompErrorCodes)
  }
}
