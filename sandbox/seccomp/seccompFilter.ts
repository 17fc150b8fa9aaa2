// The sandbox's seccomp filter: the allowlist compiled once per process. bwrap takes these bytes
// through `--seccomp FD` (see writeSeccompFilter for a file to open per job).
import { encodeBpfProgram, type BpfInstruction } from './bpf.ts'
import { seccompAllowlist } from './allowlist.ts'
import { compileSeccompFilter } from './compileSeccompFilter.ts'

let program: readonly BpfInstruction[] | undefined
let bytes: Buffer | undefined

/** The compiled program as instructions (for the interpreter and for inspection). */
export function seccompProgram(): readonly BpfInstruction[] {
  program ??= Object.freeze(compileSeccompFilter({ rules: seccompAllowlist }))
  return program
}

/** The compiled program as the raw `struct sock_filter` array bwrap reads. A fresh copy each call. */
export function seccompFilter(): Buffer {
  bytes ??= encodeBpfProgram(seccompProgram())
  return Buffer.from(bytes)
}
