// Posts the gateway's jobs on chain in batches (postJobs): submissions that arrive while a batch is
// in flight wait and go together in the next one, so each block takes one transaction with all that
// came meanwhile, and the gateway's one account is no limit on how many jobs a block can post.
import type { Hash, TransactionReceipt } from 'viem'
import type { ChainJobId, SpecHash } from '../../../verifier/index.ts'
import { MarketRevertError } from '../../chain/errors.ts'
import type { MarketClient } from '../../chain/marketClient.ts'

export type JobPostParameters = { specHash: SpecHash; replicas: number; quorum: number; commitWindow: number; revealWindow: number; reward: bigint }
export type PostedJob = { jobId: ChainJobId; hash: Hash; receipt: TransactionReceipt }

export type JobPoster = {
  /** Resolves once the job's post is mined (alone or in a batch), with its on-chain id. */
  post(job: JobPostParameters): Promise<PostedJob>
}

/** The contract's MAX_POST_BATCH: about 4M gas of posts, well inside a block. */
export const maxPostBatch = 64

type Waiting = { job: JobPostParameters; resolve: (posted: PostedJob) => void; reject: (error: unknown) => void }

export function jobPoster({ market, maxBatch = maxPostBatch }: { market: Pick<MarketClient, 'postJob' | 'postJobs'>; maxBatch?: number }): JobPoster {
  const waiting: Waiting[] = []
  let sending = false

  async function postAlone({ job, resolve, reject }: Waiting): Promise<void> {
    await market.postJob(job).then(({ jobId, hash, receipt }) => resolve({ jobId, hash, receipt }), reject)
  }

  async function postBatch(batch: Waiting[]): Promise<void> {
    if (batch.length === 1) return postAlone(batch[0]!)
    try {
      const { jobIds, hash, receipt } = await market.postJobs(batch.map((w) => w.job))
      for (const [i, w] of batch.entries()) w.resolve({ jobId: jobIds[i]!, hash, receipt })
    } catch (error) {
      // All or nothing on chain: one invalid job would fail the others, so each goes on its own and
      // only the invalid one fails, with its own reason. Anything else (the RPC) fails the batch.
      if (!(error instanceof MarketRevertError)) for (const w of batch) w.reject(error)
      else await Promise.all(batch.map(postAlone))
    }
  }

  function flush(): void {
    if (sending || waiting.length === 0) return
    sending = true
    void postBatch(waiting.splice(0, maxBatch)).finally(() => {
      sending = false
      flush()
    })
  }

  return {
    post(job) {
      const posted = new Promise<PostedJob>((resolve, reject) => waiting.push({ job, resolve, reject }))
      flush()
      return posted
    },
  }
}
