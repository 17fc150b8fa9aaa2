// Which announced job to take, and when to reveal and finalize a taken one: pure decisions over
// what the chain and the worker's own state say, so they are tested without a chain or a stream.
import { isOpenStatus, type MarketJob } from '../../chain/marketReader.ts'
import type { RoundEligibility } from './roundEligibility.ts'

export type DecideJobParameters = {
  job: Pick<MarketJob, 'status' | 'roundSlots' | 'committed' | 'commitDeadline' | 'collateral' | 'reward'>
  /** When this worker is drawn for the job's current round (roundEligibility). */
  eligibility: RoundEligibility
  /** Chain time of the next block (s). */
  now: number
  /** Jobs this worker holds and has not settled, and its limit. */
  running: number
  maxJobs: number
  /** Stake not locked on chain, minus the collateral of jobs running here and not committed yet. */
  freeStake: bigint
  /** This worker already took (or finished) the job. */
  known: boolean
  /** Seconds the commit window must still be open, after the worker may commit, for the run and the commit to fit. */
  minCommitTimeLeft: number
  /** What the job's commit and reveal cost this worker at the current fee (wei; jobGasCost). */
  gasCost: bigint
  /** The least the reward must leave after gas (the worker's price floor, --min-profit-wei). */
  minProfitWei: bigint
}

export type DecideJobReturnType = { take: true; commitFrom: number } | { take: false; reason: string }

/**
 * A worker drawn while fewer than this many times the committee size are expected to be drawn
 * before it runs the job at once (it is likely among the first); one drawn later runs it only if a
 * slot is still free when it may commit, so a job is run about 1.25 x its slots, not once per worker.
 */
export const earlyRunFactor = 1.25

export function decideJob(p: DecideJobParameters): DecideJobReturnType {
  const { job, eligibility } = p
  if (p.known) return { take: false, reason: 'already taken' }
  if (!isOpenStatus(job.status)) return { take: false, reason: `job is ${job.status}` }
  if (job.committed >= job.roundSlots) return { take: false, reason: 'every slot is committed' }
  if (job.reward - p.gasCost < p.minProfitWei) return { take: false, reason: 'reward below the ask at the current fee' }
  if (!eligibility.drawn) return { take: false, reason: eligibility.reason === 'seed not ready' ? 'round seed not ready' : 'not drawn for this round' }
  if (p.now < eligibility.drawnAt) return { take: false, reason: 'not drawn yet' }
  if (job.commitDeadline - Math.max(p.now, eligibility.commitFrom) < p.minCommitTimeLeft) return { take: false, reason: 'commit window closes too soon' }
  if (eligibility.drawnBefore > earlyRunFactor * job.roundSlots && p.now < eligibility.commitFrom) return { take: false, reason: 'drawn late: waiting for a slot to stay free' }
  if (p.running >= p.maxJobs) return { take: false, reason: 'at capacity' }
  if (p.freeStake < job.collateral) return { take: false, reason: 'not enough free stake for the collateral' }
  return { take: true, commitFrom: eligibility.commitFrom }
}

export type RecheckAfterParameters = { reason: string; eligibility: RoundEligibility; now: number; commitDeadline: number }

/**
 * When a skipped job is worth another look: in some seconds of chain time (0: at the next poll; when the worker will be
 * drawn, or may commit), 'when-free' (once a run ends or a job settles: capacity or free stake was
 * short), or null (never in this round).
 */
export function recheckAfter({ reason, eligibility, now, commitDeadline }: RecheckAfterParameters): number | 'when-free' | null {
  if (now >= commitDeadline) return null
  if (reason === 'at capacity' || reason === 'not enough free stake for the collateral') return 'when-free'
  // The seed waits for a block, not for time: look again at the next poll (a frozen test chain's clock never moves).
  if (reason === 'round seed not ready') return 0
  // Fees move every block: look again a block or so later (on L1, one 12 s block).
  if (reason === 'reward below the ask at the current fee') return 12
  if (!eligibility.drawn) return null
  if (reason === 'not drawn yet') return eligibility.drawnAt - now
  if (reason.startsWith('drawn late')) return eligibility.commitFrom - now
  return null
}

export type NextStepParameters = {
  job: Pick<MarketJob, 'status' | 'round' | 'roundSlots' | 'committed' | 'revealed' | 'commitDeadline' | 'revealDeadline'>
  /** The round this worker's slot belongs to (0: first committee, 1: escalation committee). */
  slotRound: number
  /** Whether this worker's reveal is on chain. */
  revealed: boolean
  /** A `no-reveal` worker never reveals. */
  mayReveal: boolean
  now: number
}

/** What to do next for a committed job: the contract's own reveal and round-closing conditions. */
export type NextStep = 'settled' | 'reveal' | 'finalize' | 'wait'

export function nextStep({ job, slotRound, revealed, mayReveal, now }: NextStepParameters): NextStep {
  if (!isOpenStatus(job.status)) return 'settled'
  const commitsClosed = job.committed >= job.roundSlots || now > job.commitDeadline
  // A slot of a round that is over cannot reveal any more; its worker still helps close the job.
  if (!revealed && mayReveal && job.round === slotRound && commitsClosed && now <= job.revealDeadline) return 'reveal'
  if (job.committed === 0 ? now > job.commitDeadline : now > job.revealDeadline || (commitsClosed && job.revealed === job.committed)) return 'finalize'
  return 'wait'
}
