// The market contract's job id (a uint256 counter the contract assigns when the job is posted): what
// the chain readers, the worker and `sandrun verify` take. Protocol messages and files spell it in
// decimal; it is made from those and from decoded chain events here, and nowhere else.
import { VerifierError } from './errors.ts'

declare const kind: unique symbol

export type ChainJobId = bigint & { readonly [kind]: 'ChainJobId' }

const decimal = /^(0|[1-9][0-9]{0,77})$/
const maxUint256 = 2n ** 256n - 1n

/** The id from the contract (a bigint) or from its decimal spelling; throws CHAIN_JOB_ID_INVALID for anything else. */
export function chainJobId(value: bigint | string): ChainJobId {
  const id = typeof value === 'bigint' ? value : decimal.test(value) ? BigInt(value) : null
  if (id === null || id < 0n || id > maxUint256) {
    const shown = typeof value === 'bigint' ? value.toString() : JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value)
    throw new VerifierError('CHAIN_JOB_ID_INVALID', 'An on-chain job id must be a decimal integer from 0 to 2^256-1.', { details: `got ${shown}` })
  }
  return id as ChainJobId
}
