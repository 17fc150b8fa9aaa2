// One committee round as the market runs it: every account draws a ticket (uniform, as keccak256
// outputs are), becomes eligible when the contract's threshold passes it, and commits when it may;
// slots go in commit order. The attacker commits the moment it may (it runs nothing) and wins ties;
// honest workers follow the worker's rules (decideJob): one drawn early runs at once and commits at
// its commit time if the run fits in the commit delay, one drawn late runs only if a slot is still
// free when it may commit, and commits a run time later.
import { eligibilityRules } from '../../node/chain/eligibility/index.ts'
import { earlyRunFactor } from '../../node/market/worker/decideJob.ts'

export type SimAccount = { attacker: boolean; stakeClass: number }

export type SimulateRoundParameters = {
  accounts: SimAccount[]
  /** Indices of accounts that may not take part (they hold a slot of the first round). */
  excluded: Set<number>
  /** Eligibility curve per stake class for this round's committee size (eligibilityCurve). */
  curves: Float64Array[]
  slots: number
  window: number
  /** Seconds an honest worker needs from starting the job to its commit transaction. */
  honestRunSeconds: number
  /** Who gets a slot when commits land in the same second: the attacker (worst case) or a coin flip. */
  ties: 'attacker' | 'random'
  random: () => number
}

export type SimulateRoundReturnType = {
  /** Account indices holding the round's slots, in slot order. */
  holders: number[]
  /** Honest workers that ran the job in this round. */
  runs: number
}

type Candidate = { index: number; attacker: boolean; from: number; drawnAt: number; ready: number; early: boolean; tie: number }

const initialShare = Number(eligibilityRules.initialNumerator) / Number(eligibilityRules.initialDenominator)

export function simulateRound({ accounts, excluded, curves, slots, window, honestRunSeconds, ties, random }: SimulateRoundParameters): SimulateRoundReturnType {
  const delay = Math.floor(window / Number(eligibilityRules.doublingsPerWindow))
  const candidates: Candidate[] = []
  for (let index = 0; index < accounts.length; index++) {
    if (excluded.has(index)) continue
    const account = accounts[index]!
    const curve = curves[account.stakeClass]!
    const u = random()
    if (!(u < curve[window]!)) continue
    // First second at which the ticket is under the threshold (the curve only rises).
    let low = 0
    let high = window
    while (low < high) {
      const middle = (low + high) >> 1
      if (u < curve[middle]!) high = middle
      else low = middle + 1
    }
    const from = low
    const drawnAt = from - delay
    const drawnBefore = initialShare * slots * 2 ** (((from - delay) * Number(eligibilityRules.doublingsPerWindow)) / window)
    const early = drawnBefore <= earlyRunFactor * slots
    const ready = account.attacker ? from : early ? Math.max(from, drawnAt + honestRunSeconds) : from + honestRunSeconds
    candidates.push({ index, attacker: account.attacker, from, drawnAt, ready, early, tie: ties === 'random' ? random() : account.attacker ? 0 : 1 })
  }
  candidates.sort((a, b) => a.ready - b.ready || a.tie - b.tie)
  const holders: number[] = []
  const commitTimes: number[] = []
  let runs = 0
  const fullBy = (time: number): boolean => holders.length >= slots && commitTimes[slots - 1]! <= time
  for (const c of candidates) {
    if (!c.attacker) {
      // A worker looks at the round when it is drawn (early) or when it may commit (late).
      if (fullBy(c.early ? c.drawnAt : c.from)) continue
      runs++
    }
    if (holders.length < slots && c.ready <= window) {
      holders.push(c.index)
      commitTimes.push(c.ready)
    }
  }
  return { holders, runs }
}
