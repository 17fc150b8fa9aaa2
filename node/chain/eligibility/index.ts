// Committee eligibility as the market contract computes it (contracts/src/MarketEligibility.sol),
// for workers deciding what to run, the simulation under bench/ and the tests.
export { commitDelay, isEligible, type IsEligibleParameters } from './isEligible.ts'
export { eligibilityRules } from './eligibilityRules.ts'
export { eligibilityTicket, type EligibilityTicketParameters } from './eligibilityTicket.ts'
export { eligibleFrom, type EligibleFromParameters } from './eligibleFrom.ts'
export { escalationSlots } from './escalationSlots.ts'
export { roundSeed, type RoundSeedParameters } from './roundSeed.ts'
export { seedBlockFor } from './seedBlockFor.ts'
