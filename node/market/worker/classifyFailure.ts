// What a failed job attempt means for the worker: a lost race (another worker, the deadline or the
// draw got there first: nothing to report), a refusal that will never change for this job (its
// spec, environment or bundle), or a failure worth logging. Messages are reduced to codes where
// they could quote job contents.
import { MarketRevertError } from '../../chain/errors.ts'
import { WorkerError } from './workerError.ts'
import { shortMessageOf } from '../../../errors/index.ts'
import { SandboxError } from '../../../sandbox/index.ts'

export type FailureClass = {
  /** Safe to log: an error name or code, never job contents. */
  reason: string
  lostRace: boolean
  /** The job's own fault: offering it again cannot succeed. */
  permanent: boolean
}

const lostRaceErrors = new Set(['MarketJobFull', 'MarketCommitClosed', 'MarketJobNotOpen', 'MarketAlreadyCommitted', 'MarketInsufficientFreeStake', 'MarketNotEligible', 'MarketSeedNotReady'])

export function classifyFailure(error: unknown): FailureClass {
  const lostRace = error instanceof MarketRevertError && lostRaceErrors.has(error.errorName)
  // Only the job's own faults (bad manifest or bundle); a host failure may not repeat.
  const permanent =
    error instanceof WorkerError
      ? error.code === 'SPEC_INVALID' || error.code === 'ENVIRONMENT_MISMATCH'
      : error instanceof SandboxError && error.isUserError
  return { reason: reasonOf(error), lostRace, permanent }
}

function reasonOf(error: unknown): string {
  if (error instanceof MarketRevertError) return error.errorName
  // Sandbox and worker messages may quote manifest fields; the code is enough for the operator's log.
  if (error instanceof SandboxError) return error.code
  return shortMessageOf(error)
}
