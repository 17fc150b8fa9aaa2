// When a worker becomes eligible: the first whole second of the commit window at which
// isEligible holds (eligibility only widens with time), or null if never within the window.
import { isEligible, type IsEligibleParameters } from './isEligible.ts'

export type EligibleFromParameters = Omit<IsEligibleParameters, 'elapsed'>

export function eligibleFrom(parameters: EligibleFromParameters): number | null {
  if (!isEligible({ ...parameters, elapsed: parameters.window })) return null
  let low = 0
  let high = parameters.window
  while (low < high) {
    const middle = Math.floor((low + high) / 2)
    if (isEligible({ ...parameters, elapsed: middle })) high = middle
    else low = middle + 1
  }
  return low
}
