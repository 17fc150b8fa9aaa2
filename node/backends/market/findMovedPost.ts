// A post that a reorg dropped is mined again (accountTransactions.ts sends the same bytes, or a
// re-priced version of them) and may get another job id on the way: ids count posts, and another
// requester's post may land first. Finds the id this gateway's post has on the chain now.
import { parseEventLogs, TransactionReceiptNotFoundError, type Hash } from 'viem'
import { sandrunMarketAbi } from '../../../contracts/abi.ts'
import type { MarketClient } from '../../chain/marketClient.ts'
import { pageLogs } from '../../../verifier/chain/index.ts'
import { type ChainJobId, chainJobId, type SpecHash } from '../../../verifier/index.ts'

export type FindMovedPostParameters = {
  market: MarketClient
  /** The post transaction this gateway saw mined first. */
  postHash: Hash
  specHash: SpecHash
  /** Where a re-mined post can be at the earliest: below the block it was first seen in, by the deepest reorg considered. */
  fromBlock: bigint
  /** Ids other jobs of this gateway hold (the same spec may have been posted twice). */
  taken: (jobId: ChainJobId) => boolean
}

export type MovedPost = { jobId: ChainJobId; blockNumber: bigint }

/** Where the post is now, or null while it is not mined again. */
export async function findMovedPost({ market, postHash, specHash, fromBlock, taken }: FindMovedPostParameters): Promise<MovedPost | null> {
  const receipt = await market.publicClient.getTransactionReceipt({ hash: postHash }).catch((error: unknown) => {
    if (error instanceof TransactionReceiptNotFoundError) return null
    throw error
  })
  if (receipt) {
    // One transaction may post several jobs (postJobs): this one is the one with its spec.
    const posted = parseEventLogs({ abi: sandrunMarketAbi, logs: receipt.logs, eventName: 'JobPosted' }).find(
      (event) => event.args.specHash.toLowerCase() === specHash && !taken(chainJobId(event.args.jobId)),
    )
    return posted ? { jobId: chainJobId(posted.args.jobId), blockNumber: receipt.blockNumber } : null
  }
  // Replaced with higher fees after the reorg: another hash, the same requester and spec.
  const events = await pageLogs({
    fromBlock,
    toBlock: await market.publicClient.getBlockNumber({ cacheTime: 0 }),
    read: (range) =>
      market.publicClient.getContractEvents({ address: market.address, abi: sandrunMarketAbi, eventName: 'JobPosted', args: { requester: market.account?.address, specHash }, ...range }),
  })
  const moved = events.flatMap((e) => (e.args.jobId === undefined ? [] : [{ jobId: chainJobId(e.args.jobId), blockNumber: e.blockNumber }]))
  return moved.find((post) => !taken(post.jobId)) ?? null
}
