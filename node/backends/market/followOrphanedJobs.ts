// Jobs this gateway posted on chain but no longer holds: those the ledger lists after a restart (their
// data died with the old process) and those deleted before they settled. Each is read from the chain
// until it leaves the Open state, finalized when that is due (so the escrow comes back when nobody
// else finalizes), and then dropped from the ledger.
import { sandrunMarketAbi } from '../../../contracts/abi.ts'
import type { Deployment } from '../../chain/deployment.ts'
import type { MarketClient } from '../../chain/marketClient.ts'
import { isOpenStatus, type MarketJob } from '../../chain/marketReader.ts'
import { pageLogs } from '../../../verifier/chain/index.ts'
import { type ChainJobId, chainJobId } from '../../../verifier/index.ts'
import { chainEntryKey, type LedgerEntry, type OpenJobLedger } from './openJobLedger.ts'
import { errorCodeOf } from '../../../errors/index.ts'

export type FollowOrphanedJobsParameters = {
  market: MarketClient
  deployment: Deployment
  ledger: OpenJobLedger
  pollIntervalMs: number
  /** Chain time (s). */
  chainNow(): Promise<number>
  /** Sends finalize when the job's windows allow it (the backend's own rule and transaction queue). */
  finalizeIfDue(job: MarketJob, now: number): Promise<void>
  log: (message: string, context: Record<string, unknown>) => void
}

export type OrphanedJobs = {
  /** Left by an earlier run: posting entries are first looked up on chain by spec hash. */
  adopt(entries: LedgerEntry[]): Promise<void>
  /** A job of this run whose data was deleted before it settled. */
  follow(chainJobId: ChainJobId): void
  pending(): number
  stop(): void
}

export function followOrphanedJobs(parameters: FollowOrphanedJobsParameters): OrphanedJobs {
  const { market, deployment, ledger, log } = parameters
  const followed = new Set<ChainJobId>()
  let timer: NodeJS.Timeout | null = null
  let stopped = false

  /** The on-chain id of a post whose receipt the earlier run never saw, or null when it never landed. */
  const resolvePosting = async (entry: LedgerEntry): Promise<ChainJobId | null> => {
    const unfollowed = (events: Array<{ args: { jobId?: bigint } }>) => events.some((event) => event.args.jobId !== undefined && !followed.has(chainJobId(event.args.jobId)))
    const posted = await pageLogs({
      fromBlock: entry.fromBlock,
      toBlock: await market.publicClient.getBlockNumber(),
      read: (range) =>
        market.publicClient.getContractEvents({
          address: deployment.market,
          abi: sandrunMarketAbi,
          eventName: 'JobPosted',
          args: { requester: market.account?.address, specHash: entry.specHash },
          ...range,
        }),
      until: unfollowed,
    })
    const ids = posted.flatMap((event) => (event.args.jobId === undefined ? [] : [chainJobId(event.args.jobId)]))
    return ids.find((id) => !followed.has(id)) ?? null
  }

  const tick = async (): Promise<void> => {
    timer = null
    if (stopped || followed.size === 0) return
    try {
      const now = await parameters.chainNow()
      for (const id of [...followed]) {
        const job = await market.getJob(id)
        if (isOpenStatus(job.status)) {
          await parameters.finalizeIfDue(job, now)
          continue
        }
        followed.delete(id)
        await ledger.drop(chainEntryKey(id))
        log('orphaned job settled', { chainJobId: id.toString(), status: job.status })
      }
    } catch (error) {
      log('chain read failed', { code: errorCodeOf(error) ?? 'UNKNOWN' })
    }
    schedule()
  }

  function schedule(): void {
    if (stopped || timer || followed.size === 0) return
    timer = setTimeout(() => void tick(), parameters.pollIntervalMs)
  }

  return {
    async adopt(entries) {
      for (const entry of entries) if (entry.chainJobId !== null) followed.add(entry.chainJobId)
      for (const entry of entries.filter((e) => e.chainJobId === null)) {
        const id = await resolvePosting(entry).catch(() => undefined)
        // A failed lookup keeps the entry for the next start; an answer settles what it is.
        if (id === undefined) continue
        if (id === null) await ledger.drop(entry.key)
        else {
          await ledger.posted(entry.key, id)
          followed.add(id)
        }
      }
      if (followed.size > 0) log('following jobs posted by an earlier run', { jobs: followed.size })
      schedule()
    },
    follow(chainJobId) {
      followed.add(chainJobId)
      schedule()
    },
    pending: () => followed.size,
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}
