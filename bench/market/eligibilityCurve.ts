// The chance that a worker is eligible at each second of a commit window, read off the contract's
// own eligibility function (node/chain/eligibility mirrors MarketEligibility bit for bit): for every
// elapsed second, the smallest ticket that is not eligible, found by binary search, over 2^128.
import { isEligible } from '../../node/chain/eligibility/index.ts'

export type EligibilityCurveParameters = { weightGwei: bigint; totalGwei: bigint; slots: number; window: number }

/** curve[t] = P(eligible at t seconds into the window) for a uniformly random 128-bit ticket. */
export function eligibilityCurve({ weightGwei, totalGwei, slots, window }: EligibilityCurveParameters): Float64Array {
  const curve = new Float64Array(window + 1)
  const top = 1n << 128n
  for (let elapsed = 0; elapsed <= window; elapsed++) {
    let low = 0n
    let high = top
    while (low < high) {
      const middle = (low + high) / 2n
      if (isEligible({ ticket: middle, weightGwei, totalGwei, slots, elapsed, window })) low = middle + 1n
      else high = middle
    }
    curve[elapsed] = Number(low) / Number(top)
  }
  return curve
}
