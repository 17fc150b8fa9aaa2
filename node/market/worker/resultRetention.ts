// When a worker lets go of a job's data (docs/security.md, "Job data"): all of it once the job
// settled on chain and its requester fetched the result with a valid claim (node/market/resultClaim.ts)
// or the result window after settlement passed; the sealed result alone 1 hour after the run,
// settled or not, since a reveal needs only the committed root. Only results sealed by this
// process count: a restart cannot read earlier ones.
import { recoverMessageAddress, type Address, type Hex } from 'viem'
import type { ChainJobId } from '../../../verifier/index.ts'
import type { Clock } from '../../clock/systemClock.ts'
import { resultClaimMessage } from '../resultClaim.ts'
import type { WorkerJobRecord } from './jobStore.ts'

export type ResultRetentionParameters = {
  clock: Clock
  resultWindowMs: number
  retentionMaxMs: number
  /** This worker, as claims name it. */
  chainId: number
  market: Address
  worker: Address
}

/** `job`: remove everything of the job; `result`: only its sealed result (the commitment record stays). */
export type RetentionStep = { jobId: ChainJobId; scope: 'job' | 'result'; reason: 'served to its requester' | 'result window passed' | 'retention maximum' }

export type ResultRetention = {
  sealed(jobId: ChainJobId, requester: Address): void
  /** Whether this process sealed a result for the job that is still kept. */
  holds(jobId: ChainJobId): boolean
  /** A served result's claim: true when the job's requester signed it, and the job may go once settled. */
  claim(jobId: ChainJobId, claim: string): Promise<boolean>
  forget(jobId: ChainJobId): void
  /** What is due for deletion now; tracking of what it returns ends here. */
  collect(records: Iterable<WorkerJobRecord>): RetentionStep[]
}

export function resultRetention({ clock, resultWindowMs, retentionMaxMs, chainId, market, worker }: ResultRetentionParameters): ResultRetention {
  const sealedAt = new Map<ChainJobId, number>()
  const requesters = new Map<ChainJobId, Address>()
  const served = new Set<ChainJobId>()
  const forget = (jobId: ChainJobId): void => {
    sealedAt.delete(jobId)
    requesters.delete(jobId)
    served.delete(jobId)
  }
  return {
    sealed(jobId, requester) {
      sealedAt.set(jobId, clock.now())
      requesters.set(jobId, requester)
    },
    holds: (jobId) => sealedAt.has(jobId),
    async claim(jobId, claim) {
      const requester = requesters.get(jobId)
      if (!requester) return false
      const message = resultClaimMessage({ chainId, market, jobId, worker })
      const signer = await recoverMessageAddress({ message, signature: claim as Hex }).catch(() => null)
      if (signer?.toLowerCase() !== requester.toLowerCase()) return false
      served.add(jobId)
      return true
    },
    forget,
    collect(records) {
      const now = clock.now()
      const steps: RetentionStep[] = []
      for (const { jobId, phase, settledAt } of records) {
        if (phase === 'settled' && (served.has(jobId) || now - (settledAt ?? 0) >= resultWindowMs)) {
          steps.push({ jobId, scope: 'job', reason: served.has(jobId) ? 'served to its requester' : 'result window passed' })
          forget(jobId)
          continue
        }
        const since = sealedAt.get(jobId)
        if (since !== undefined && now - since >= retentionMaxMs) {
          steps.push({ jobId, scope: 'result', reason: 'retention maximum' })
          sealedAt.delete(jobId)
        }
      }
      return steps
    },
  }
}
