// One job through the market's rounds with an attacker that always lies: its accounts all reveal
// the same forged root, honest workers the true one. The first committee finalizes when it is
// unanimous with quorum; otherwise (SandrunMarket._closeRound) a fresh committee of
// escalationSlots(replicas) is drawn and the majority of all reveals decides.
import { escalationSlots } from '../../node/chain/eligibility/index.ts'
import { simulateRound, type SimAccount } from './simulateRound.ts'

export type SimulateJobParameters = {
  accounts: SimAccount[]
  /** Eligibility curves per stake class: for the first committee and for the escalation committee. */
  curves: { first: Float64Array[]; escalation: Float64Array[] }
  replicas: number
  quorum: number
  window: number
  honestRunSeconds: number
  ties: 'attacker' | 'random'
  random: () => number
}

export type JobOutcome = 'forged' | 'honest' | 'inconclusive' | 'expired'

export type SimulateJobReturnType = {
  outcome: JobOutcome
  escalated: boolean
  /** Slots held by the attacker and by honest workers, in the first and the escalation round. */
  attacker: [number, number]
  honest: [number, number]
  /** Honest runs of the job, both rounds. */
  runs: number
  /** Account indices holding the first committee's slots. */
  firstHolders: number[]
}

export function simulateJob(p: SimulateJobParameters): SimulateJobReturnType {
  const common = { accounts: p.accounts, window: p.window, honestRunSeconds: p.honestRunSeconds, ties: p.ties, random: p.random }
  const first = simulateRound({ ...common, excluded: new Set(), curves: p.curves.first, slots: p.replicas })
  const k0 = first.holders.filter((i) => p.accounts[i]!.attacker).length
  const h0 = first.holders.length - k0
  const result = (outcome: JobOutcome, escalated: boolean, k1 = 0, h1 = 0, runs = first.runs): SimulateJobReturnType => ({
    outcome,
    escalated,
    attacker: [k0, k1],
    honest: [h0, h1],
    runs,
    firstHolders: first.holders,
  })
  if (first.holders.length === 0) return result('expired', false)
  const unanimous = k0 === 0 || h0 === 0
  if (unanimous) {
    // Everybody reveals here, so a unanimous committee short of quorum has nobody silent to pay a second one.
    if (first.holders.length < p.quorum) return result('inconclusive', false)
    return result(k0 > 0 ? 'forged' : 'honest', false)
  }
  const second = simulateRound({ ...common, excluded: new Set(first.holders), curves: p.curves.escalation, slots: escalationSlots(p.replicas) })
  const k1 = second.holders.filter((i) => p.accounts[i]!.attacker).length
  const h1 = second.holders.length - k1
  const total = k0 + k1 + h0 + h1
  const runs = first.runs + second.runs
  if (2 * (k0 + k1) > total && k0 + k1 >= p.quorum) return result('forged', true, k1, h1, runs)
  if (2 * (h0 + h1) > total && h0 + h1 >= p.quorum) return result('honest', true, k1, h1, runs)
  return result('inconclusive', true, k1, h1, runs)
}
