// Which announced job to take, and when to reveal and finalize a taken one: pure decisions over
// what the chain and the worker's own state say, so they are tested without a chain or a stream.
import type { MarketJob } from '../../chain/marketReader.ts'

export type DecideJobParameters = {
  job: Pick<MarketJob, 'status' | 'specHash' | 'replicas' | 'committed' | 'commitDeadline' | 'collateral'>
  /** The spec hash the announcement claims. */
  announcedSpecHash: string
  /** Latest block timestamp (s). */
  now: number
  /** Jobs this worker holds and has not settled, and its limit. */
  running: number
  maxJobs: number
  /** Stake not locked on chain, minus the collateral of jobs running here and not committed yet. */
  freeStake: bigint
  /** This worker already took (or finished) the job. */
  known: boolean
  /** Seconds the commit window must still be open for the run and the commit to fit. */
  minCommitTimeLeft: number
}

export type DecideJobReturnType = { take: true } | { take: false; reason: string }

export function decideJob(p: DecideJobParameters): DecideJobReturnType {
  const { job } = p
  if (p.known) return { take: false, reason: 'already taken' }
  if (job.status !== 'Open') return { take: false, reason: `job is ${job.status}` }
  if (job.specHash.toLowerCase() !== p.announcedSpecHash.toLowerCase()) return { take: false, reason: 'announced spec hash differs from the chain' }
  if (job.committed >= job.replicas) return { take: false, reason: 'every slot is committed' }
  if (job.commitDeadline - p.now < p.minCommitTimeLeft) return { take: false, reason: 'commit window closes too soon' }
  if (p.running >= p.maxJobs) return { take: false, reason: 'at capacity' }
  if (p.freeStake < job.collateral) return { take: false, reason: 'not enough free stake for the collateral' }
  return { take: true }
}

export type NextStepParameters = {
  job: Pick<MarketJob, 'status' | 'replicas' | 'committed' | 'revealed' | 'commitDeadline' | 'revealDeadline'>
  /** Whether this worker's reveal is on chain. */
  revealed: boolean
  /** A `no-reveal` worker never reveals. */
  mayReveal: boolean
  now: number
}

/** What to do next for a committed job: the contract's own reveal and finalize conditions. */
export type NextStep = 'settled' | 'reveal' | 'finalize' | 'wait'

export function nextStep({ job, revealed, mayReveal, now }: NextStepParameters): NextStep {
  if (job.status !== 'Open') return 'settled'
  const commitsClosed = job.committed >= job.replicas || now > job.commitDeadline
  if (!revealed && mayReveal && commitsClosed && now <= job.revealDeadline) return 'reveal'
  if (now > job.revealDeadline || (commitsClosed && job.revealed === job.committed)) return 'finalize'
  return 'wait'
}
