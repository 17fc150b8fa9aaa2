// Many jobs of one setting (attacker share, committee size, network) and what they add up to: the
// chance a forged root is finalized, the attacker's expected profit per attempt (a job in which it
// holds a first-committee slot and lies), the honest workers' expected loss, escalations and runs.
import { collateralFor } from './marketEconomics.ts'
import { eligibilityCurve } from './eligibilityCurve.ts'
import { escalationSlots } from '../../node/chain/eligibility/index.ts'
import { majorityQuorum } from '../../verifier/index.ts'
import { simulateJob } from './simulateJob.ts'
import { simulateRound, type SimAccount } from './simulateRound.ts'

export type SimulateSettingParameters = {
  /** Attacker's share of the total stake, 0 to < 0.5. */
  share: number
  replicas: number
  /** Honest workers, each with the same stake; the attacker's stake is split over `attackerAccounts`. */
  honestWorkers: number
  attackerAccounts: number
  trials: number
  window: number
  honestRunSeconds: number
  ties: 'attacker' | 'random'
  /** Reward per slot and the deployment's collateral rule (wei). */
  rewardWei: bigint
  minCollateralWei: bigint
  collateralMultiplier: bigint
  random: () => number
  /** Stakes in gwei (honest, attacker per account), when the setting fixes them instead of the share. */
  stakes?: { honestGwei: bigint; attackerGwei: bigint }
}

export type SimulateSettingReturnType = {
  trials: number
  forged: number
  /** Of the forged jobs, those the first committee finalized unanimously (no vote can catch them). */
  forgedUnanimous: number
  attempts: number
  escalated: number
  expired: number
  inconclusive: number
  /** Sums over all trials, in ETH. */
  attackerProfit: number
  honestLoss: number
  /** Honest runs over all trials. */
  runs: number
  /** Of the forged unanimous jobs, those an escalation committee drawn anyway (an audit) overturns. */
  auditOverturned: number
  auditRuns: number
}

const gwei = 10n ** 9n

export function simulateSetting(p: SimulateSettingParameters): SimulateSettingReturnType {
  const honestGwei = p.stakes?.honestGwei ?? 10n * gwei
  const attackerTotal = p.stakes ? p.stakes.attackerGwei * BigInt(p.attackerAccounts) : BigInt(Math.round((p.share / (1 - p.share)) * p.honestWorkers * Number(honestGwei)))
  const attackerGwei = p.stakes?.attackerGwei ?? attackerTotal / BigInt(p.attackerAccounts)
  const totalGwei = honestGwei * BigInt(p.honestWorkers) + attackerGwei * BigInt(p.attackerAccounts)
  const accounts: SimAccount[] = [
    ...Array.from({ length: p.honestWorkers }, () => ({ attacker: false, stakeClass: 0 })),
    ...Array.from({ length: p.attackerAccounts }, () => ({ attacker: true, stakeClass: 1 })),
  ]
  const curvesFor = (slots: number) => [honestGwei, attackerGwei].map((weightGwei) => eligibilityCurve({ weightGwei, totalGwei, slots, window: p.window }))
  const curves = { first: curvesFor(p.replicas), escalation: curvesFor(escalationSlots(p.replicas)) }
  const reward = Number(p.rewardWei) / 1e18
  const collateral = Number(collateralFor({ reward: p.rewardWei, replicas: p.replicas, minCollateral: p.minCollateralWei, multiplier: p.collateralMultiplier })) / 1e18
  const quorum = majorityQuorum(p.replicas)
  const job = { accounts, curves, replicas: p.replicas, quorum, window: p.window, honestRunSeconds: p.honestRunSeconds, ties: p.ties, random: p.random }
  const totals: SimulateSettingReturnType = { trials: p.trials, forged: 0, forgedUnanimous: 0, attempts: 0, escalated: 0, expired: 0, inconclusive: 0, attackerProfit: 0, honestLoss: 0, runs: 0, auditOverturned: 0, auditRuns: 0 }
  for (let trial = 0; trial < p.trials; trial++) {
    const r = simulateJob(job)
    const [k0, k1] = r.attacker
    const [h0, h1] = r.honest
    totals.runs += r.runs
    if (r.escalated) totals.escalated++
    if (r.outcome === 'expired') totals.expired++
    if (r.outcome === 'inconclusive') totals.inconclusive++
    if (k0 > 0) totals.attempts++
    if (r.outcome === 'forged') {
      totals.forged++
      // Winners take the first-committee rewards they hold and every loser's collateral.
      totals.attackerProfit += k0 * reward + collateral * (h0 + h1)
      totals.honestLoss += collateral * (h0 + h1)
      if (!r.escalated) {
        totals.forgedUnanimous++
        // Would a random audit (an escalation committee drawn anyway) have overturned it? The
        // attacker's audit slots lie too; the majority of all reveals decides.
        const audit = simulateRound({ ...job, excluded: new Set(r.firstHolders), curves: curves.escalation, slots: escalationSlots(p.replicas) })
        const ka = audit.holders.filter((i) => accounts[i]!.attacker).length
        totals.auditRuns += audit.runs
        if (2 * (k0 + ka) <= k0 + audit.holders.length) totals.auditOverturned++
      }
    } else if (r.outcome === 'honest') {
      totals.attackerProfit -= collateral * (k0 + k1)
    }
  }
  return totals
}
