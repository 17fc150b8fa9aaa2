// The shape of the allowlist data: a system call name, optionally with conditions on its
// arguments, or a fixed errno. compileSeccompFilter turns a list of these into BPF.
import type { SyscallName } from './syscalls.ts'

export type ArgIndex = 0 | 1 | 2 | 3 | 4 | 5

/**
 * A test on one argument register. `width: 32` compares only the low half, for parameters the
 * kernel declares as `int`/`unsigned int` (it ignores the upper half, so checking it would only
 * reject harmless calls such as a sign-extended -1). The default, 64, compares the whole register.
 */
export type ArgCondition = { arg: ArgIndex; width?: 32 | 64 } & (
  | { op: 'in'; values: readonly bigint[] }
  | { op: 'notIn'; values: readonly bigint[] }
  /** `(arg & mask) === value`: flag tests, e.g. "no namespace flag set". */
  | { op: 'maskedEq'; mask: bigint; value: bigint }
)

export type SyscallRule =
  /** Allowed with any arguments. */
  | SyscallName
  /** Allowed when every condition holds; otherwise fails with `otherwise` (default: the filter's default errno). */
  | { name: SyscallName; when: readonly ArgCondition[]; otherwise?: number }
  /** Always fails with this errno, e.g. ENOSYS to make libc fall back to an older call we can inspect. */
  | { name: SyscallName; errno: number }

export function syscallRuleName(rule: SyscallRule): SyscallName {
  return typeof rule === 'string' ? rule : rule.name
}
