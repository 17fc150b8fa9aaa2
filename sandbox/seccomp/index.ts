// Public surface of the seccomp filter: the compiled program for bwrap, the allowlist data, and
// the interpreter-backed evaluator tests use to check decisions without a kernel.
export { seccompFilter, seccompProgram } from './seccompFilter.ts'
export { writeSeccompFilter } from './writeSeccompFilter.ts'
export { seccompAllowlist } from './allowlist.ts'
export { deniedSyscalls, type DeniedSyscall } from './deniedSyscalls.ts'
export { evaluateSeccompFilter, type EvaluateSeccompFilterParameters, type EvaluateSeccompFilterReturnType } from './evaluateSeccompFilter.ts'
export { compileSeccompFilter, type CompileSeccompFilterParameters, type CompileSeccompFilterReturnType } from './compileSeccompFilter.ts'
export { runBpfProgram, type SeccompData } from './runBpfProgram.ts'
export { encodeBpfProgram, decodeBpfProgram, auditArchX86_64, x32SyscallBit, type BpfInstruction } from './bpf.ts'
export { errno, type SeccompAction } from './seccompAction.ts'
export { SeccompError, type SeccompErrorCode } from './seccompError.ts'
export { x86_64Syscalls, type SyscallName } from './syscalls.ts'
export type { ArgCondition, SyscallRule } from './syscallRule.ts'
