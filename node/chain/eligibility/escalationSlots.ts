// Mirror of MarketEligibility.escalationSlots: the size of the committee drawn after dissent.
import { eligibilityRules } from './eligibilityRules.ts'

export function escalationSlots(replicas: number): number {
  return Math.min(3 * replicas, eligibilityRules.maxEscalationSlots)
}
