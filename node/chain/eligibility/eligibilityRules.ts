// The constants of contracts/src/MarketEligibility.sol, in one place for the functions that mirror it.
export const eligibilityRules = {
  /** Eligibility starts at numerator / denominator of the committee size (expected eligible workers). */
  initialNumerator: 3n,
  initialDenominator: 8n,
  /** The commit window is cut into this many doubling periods; the first is the commit delay. */
  doublingsPerWindow: 8n,
  fractionBits: 16n,
  /** Largest escalation committee. */
  maxEscalationSlots: 31,
  /** blockhash reaches this many blocks back. */
  blockhashDepth: 256n,
} as const
