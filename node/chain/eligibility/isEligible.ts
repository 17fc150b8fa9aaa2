// Mirror of MarketEligibility.isEligible: whether a ticket is eligible `elapsed` seconds into a
// commit window, with the same integer arithmetic as the contract (test/contracts compares them).
import { eligibilityRules as rules } from './eligibilityRules.ts'

export type IsEligibleParameters = {
  /** MarketEligibility.ticket: the top 128 bits of keccak256(seed, jobId, worker). */
  ticket: bigint
  /** The worker's stake that counts for this round, in gwei (0 if deposited at or after the seed block). */
  weightGwei: bigint
  /** Every worker's stake, in gwei. */
  totalGwei: bigint
  /** Slots of the round's committee. */
  slots: number
  /** Seconds since the round started. */
  elapsed: number
  /** The round's commit window, seconds. */
  window: number
}

/** Seconds into the commit window before anyone may commit. */
export function commitDelay(window: number): number {
  return Math.floor(window / Number(rules.doublingsPerWindow))
}

export function isEligible({ ticket, weightGwei, totalGwei, slots, elapsed, window }: IsEligibleParameters): boolean {
  const delay = commitDelay(window)
  if (elapsed < delay || weightGwei === 0n || window === 0) return false
  const clamped = BigInt(Math.min(elapsed, window))
  const one = 1n << rules.fractionBits
  const q = ((clamped - BigInt(delay)) << (rules.fractionBits + 3n)) / BigInt(window)
  const factor = (one + (q & (one - 1n))) << (q >> rules.fractionBits)
  return ticket * totalGwei * (rules.initialDenominator << rules.fractionBits) < rules.initialNumerator * BigInt(slots) * factor * weightGwei * (1n << 128n)
}
