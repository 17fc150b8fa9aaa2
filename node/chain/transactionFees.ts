// EIP-1559 fees for a transaction, first and on every replacement: the max fee covers a doubled
// base fee (six full blocks of +12.5 % before the transaction is priced out), and a replacement
// raises both the tip and the max fee by at least 12.5 %, above the 10 % that geth, reth and anvil
// require to take a transaction with the same nonce in place of the one they hold.

export type Fees = { maxFeePerGas: bigint; maxPriorityFeePerGas: bigint }

export type TransactionFeesParameters = {
  /** The base fee of the block the transaction should go into (the pending block's). */
  baseFee: bigint
  /** The tip the node suggests (eth_maxPriorityFeePerGas). */
  tip: bigint
  /** The fees of the version this one replaces; absent for a first send. */
  previous?: Fees | undefined
  /** Close to the transaction's deadline: pay whatever gets it into the next block. */
  urgent?: boolean | undefined
}

export const defaultFeeRules = {
  // Base fees move at most 12.5 % a block: twice the current one lasts six full blocks.
  baseFeeMultiplier: 2n,
  // An urgent transaction outbids a spike in progress: three times the base fee.
  urgentBaseFeeMultiplier: 3n,
  // Per mille added to a replaced transaction's tip and max fee (nodes require 100, i.e. 10 %).
  bumpPerMille: 125n,
  // An urgent replacement doubles its fees instead.
  urgentBumpPerMille: 1000n,
  // A node that suggests no tip (a dev chain) still gets one: some builders skip zero-tip transactions.
  minTip: 1_000_000n,
} as const

const bumped = (value: bigint, perMille: bigint): bigint => value + (value * perMille + 999n) / 1000n

export function transactionFees({ baseFee, tip, previous, urgent = false }: TransactionFeesParameters): Fees {
  const suggestedTip = tip > defaultFeeRules.minTip ? tip : defaultFeeRules.minTip
  const multiplier = urgent ? defaultFeeRules.urgentBaseFeeMultiplier : defaultFeeRules.baseFeeMultiplier
  const fresh = { maxPriorityFeePerGas: suggestedTip, maxFeePerGas: baseFee * multiplier + suggestedTip }
  if (!previous) return fresh
  const perMille = urgent ? defaultFeeRules.urgentBumpPerMille : defaultFeeRules.bumpPerMille
  const maxPriorityFeePerGas = max(bumped(previous.maxPriorityFeePerGas, perMille), fresh.maxPriorityFeePerGas)
  const maxFeePerGas = max(bumped(previous.maxFeePerGas, perMille), baseFee * multiplier + maxPriorityFeePerGas)
  return { maxFeePerGas, maxPriorityFeePerGas }
}

// Math.max does not take bigints.
function max(a: bigint, b: bigint): bigint {
  if (b > a) return b
  return a
}
