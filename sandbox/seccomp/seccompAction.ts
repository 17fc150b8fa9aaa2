// What the filter decides for one system call, as data: the compiler turns it into a BPF return
// value and the interpreter turns a return value back into it, so tests compare readable actions.
import { seccompRet } from './bpf.ts'

export type SeccompAction =
  | { type: 'allow' }
  | { type: 'errno'; errno: number }
  | { type: 'killProcess' }
  /** Any other return value (trap, trace, log…): this filter never emits one. */
  | { type: 'other'; value: number }

/** errno values (asm-generic/errno*.h) the allowlist uses. */
export const errno = {
  EPERM: 1,
  ENOSYS: 38,
  EAFNOSUPPORT: 97,
} as const

export function seccompReturnValue(action: SeccompAction): number {
  switch (action.type) {
    case 'allow':
      return seccompRet.allow
    case 'errno':
      return (seccompRet.errno | (action.errno & seccompRet.dataMask)) >>> 0
    case 'killProcess':
      return seccompRet.killProcess
    case 'other':
      return action.value >>> 0
  }
}

export function decodeSeccompReturn(value: number): SeccompAction {
  const action = (value & seccompRet.actionFullMask) >>> 0
  if (action === seccompRet.allow) return { type: 'allow' }
  if (action === seccompRet.errno) return { type: 'errno', errno: value & seccompRet.dataMask }
  if (action === seccompRet.killProcess) return { type: 'killProcess' }
  return { type: 'other', value: value >>> 0 }
}
