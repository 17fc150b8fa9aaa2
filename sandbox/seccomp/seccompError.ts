// Typed errors of the seccomp compiler and interpreter. They only fire on a broken allowlist or
// program (a bug in this repository, never a job's fault), so each message names the rule to fix.

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

export class SeccompError extends Error {
  override name = 'SeccompError'
  readonly code: SeccompErrorCode

  constructor(code: SeccompErrorCode, message: string) {
    super(message)
    this.code = code
  }
}
