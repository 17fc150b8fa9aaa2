// What the worker reads from the chain about an announced job, with the parts that never change
// cached: a job's spec hash (one job read and one event lookup per job) and block hashes (round seeds), so the
// re-announcements of open jobs every few seconds cost a job read, not a log scan.
import type { Hex } from 'viem'
import type { ChainJobId, SpecHash } from '../../../verifier/index.ts'
import type { MarketAccount, MarketJob, MarketTotals } from '../../chain/marketReader.ts'
import { roundEligibility, type RoundEligibility } from './roundEligibility.ts'
import type { WorkerChain } from './workerChain.ts'

export type JobChainView = {
  /** The job's posted spec hash (lowercase), or null while the chain does not know the job. */
  specHash(jobId: ChainJobId): Promise<SpecHash | null>
  /** When this worker may commit to the job's current round, the chain time and number of the next block, and the network's totals it was drawn against (`account`: this worker's, when just read; `next`: the next block, when just read). */
  eligibility(job: MarketJob, account?: MarketAccount, next?: { number: bigint; timestamp: number; head: Hex }): Promise<{ eligibility: RoundEligibility; now: number; nextBlock: bigint; totals: MarketTotals }>
}

// Bounds on the caches: plenty for the jobs a worker sees within an hour.
const maxCachedJobs = 10_000
const maxCachedBlocks = 1_000

export function jobChainView(chain: WorkerChain): JobChainView {
  const specHashes = new Map<ChainJobId, SpecHash>()
  const blockHashes = new Map<bigint, Hex>()
  const remember = <K, V>(map: Map<K, V>, max: number, key: K, value: V): V => {
    if (map.size >= max) map.delete(map.keys().next().value as K)
    map.set(key, value)
    return value
  }
  const blockHash = async (number: bigint): Promise<Hex> => blockHashes.get(number) ?? remember(blockHashes, maxCachedBlocks, number, await chain.blockHash(number))

  return {
    async specHash(jobId) {
      const cached = specHashes.get(jobId)
      if (cached) return cached
      // An unknown id (a stale or made-up announcement) costs one read, never a log scan; a known job's
      // seed block is its post block (or its escalation's, soon after), where its JobPosted is found.
      const job = await chain.getJob(jobId)
      if (job.status === 'None') return null
      const found = await chain.getJobSpecHash(jobId, job.seedBlock)
      return found ? remember(specHashes, maxCachedJobs, jobId, found) : null
    },
    async eligibility(job, known, read) {
      const next = read ?? (await chain.nextBlock())
      const [account, totals] = await Promise.all([known ?? chain.getAccount(next.head), chain.getTotals(next.head)])
      const eligibility = await roundEligibility({ job, account, totals, worker: chain.address, nextBlock: next.number, blockHash })
      return { eligibility, now: next.timestamp, nextBlock: next.number, totals }
    },
  }
}
