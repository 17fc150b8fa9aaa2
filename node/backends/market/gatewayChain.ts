// The chain as the market gateway uses it, in one small interface (the worker's is
// node/market/worker/workerChain.ts): chain time, job and slot reads, the worker peers the chain
// registers, posts (batched, jobPoster.ts), finalizes when due, settlement depth, and where a
// reorg moved a post. Every transaction goes through the market client's one account
// (accountTransactions.ts: nonces, fees, replacement, resends); `idle()` waits for the ones this
// gateway still has in flight, for a clean close.
import type { PeerId } from '@libp2p/interface'
import type { Address, Hash } from 'viem'
import type { Deployment } from '../../chain/deployment.ts'
import { MarketRevertError } from '../../chain/errors.ts'
import type { MarketClient } from '../../chain/marketClient.ts'
import type { MarketJob } from '../../chain/marketReader.ts'
import { errorCodeOf } from '../../../errors/index.ts'
import type { ChainJobId, SpecHash } from '../../../verifier/index.ts'
import { readsAtHead } from '../../chain/readsAtHead.ts'
import { findMovedPost, type MovedPost } from './findMovedPost.ts'
import { jobPoster, type JobPostParameters, type PostedJob } from './jobPoster.ts'
import { resolveWorkerPeer } from './resolveWorkerPeer.ts'
import { settlementConfirmations } from './settlementConfirmations.ts'

export type GatewayChain = {
  /** The market client underneath (the result fetch and the orphan follower read through it too). */
  client: MarketClient
  /** The gateway's own account: it posts, pays and signs result claims. */
  address: Address | undefined
  /**
   * Chain time of the latest block (s): windows skipped with evm_increaseTime count as passed; and
   * that block's hash, the head what the chain holds is read at.
   */
  now(): Promise<{ timestamp: number; head: Hash }>
  blockNumber(): Promise<bigint>
  /**
   * A job as the chain holds it. Given `head` (now()'s), read once for that head and shared: nothing
   * changes until the next block, and the follower polls several times per block. It may show a later
   * block than `head`, never an earlier one; a transaction of this gateway mined drops the reads.
   */
  getJob(jobId: ChainJobId, head?: Hash): Promise<MarketJob>
  /** The libp2p peer a worker account registered on chain, when its signature binds it here; null otherwise. */
  peerOf(address: string): Promise<PeerId | null>
  /** The peers of the workers holding the job's slots, in slot order (unresolvable ones left out). */
  committerPeers(jobId: ChainJobId): Promise<PeerId[]>
  /** Resolves once the post is mined (alone or in a batch with others), with its on-chain id. */
  post(job: JobPostParameters): Promise<PostedJob>
  /** Closes the current round once the contract allows it (finalize is permissionless); a lost race is no error. */
  finalizeIfDue(job: MarketJob, now: number): Promise<void>
  /** Blocks on top of the job's settlement, itself included (0 when none is on chain). */
  settlementConfirmations(jobId: ChainJobId, anchorBlock: bigint): Promise<number>
  /** Where this gateway's post is mined now, when a reorg moved it under another id. */
  findMovedPost(p: { postHash: Hash; specHash: SpecHash; postBlock: bigint; taken: (jobId: ChainJobId) => boolean }): Promise<MovedPost | null>
  /** Resolves once every transaction this gateway sent is mined or failed. */
  idle(): Promise<void>
}

export type GatewayChainParameters = {
  market: MarketClient
  deployment: Deployment
  log: (message: string, context: Record<string, unknown>) => void
}

// The deepest reorg worth looking past for a moved post: a finalized L1 epoch is 64 blocks.
const movedPostSearchDepth = 64n

export function gatewayChain({ market, deployment, log }: GatewayChainParameters): GatewayChain {
  // The follower's polls all read at the newest head: one kept.
  const reads = readsAtHead({ heads: 1 })
  // Sends are pipelined (accountTransactions.ts); idle() waits for the ones still in flight.
  const sending = new Set<Promise<unknown>>()
  const tracked = <T>(send: Promise<T>): Promise<T> => {
    const settled = send.catch(() => undefined)
    sending.add(settled)
    void settled.then(() => {
      sending.delete(settled)
      // Mined or not, what this gateway sent may have changed what it reads next.
      reads.clear()
    })
    return send
  }
  // Submissions that arrive while a post is in flight go on chain together, in one postJobs.
  const poster = jobPoster({ market })
  const peerOf = (address: string): Promise<PeerId | null> =>
    resolveWorkerPeer({ address: address as Address, chainId: deployment.chainId, market: deployment.market, getPeer: (a) => market.getPeer(a) })

  return {
    client: market,
    address: market.account?.address,
    async now() {
      const block = await market.publicClient.getBlock()
      return { timestamp: Number(block.timestamp), head: block.hash }
    },
    blockNumber: () => market.publicClient.getBlockNumber(),
    getJob: (jobId, head) => reads.at(head, `job ${jobId}`, () => market.getJob(jobId)),
    peerOf,
    async committerPeers(jobId) {
      const slots = await market.getSlots(jobId)
      const found = await Promise.all(slots.filter((s) => s.worker).map((s) => peerOf(s.worker!).catch(() => null)))
      return found.filter((peer): peer is PeerId => peer !== null)
    },
    post: (job) => tracked(poster.post(job)),
    async finalizeIfDue(job, now) {
      const commitsClosed = job.committed === job.roundSlots || now > job.commitDeadline
      const due = job.committed === 0 ? now > job.commitDeadline : now > job.revealDeadline || (commitsClosed && job.revealed === job.committed)
      if (!due) return
      await tracked(market.finalize(job.jobId)).catch((error: unknown) => {
        // A worker finalized first, or the chain moved between the read and the call: read again next poll.
        if (!(error instanceof MarketRevertError)) log('finalize failed', { code: errorCodeOf(error) ?? 'UNKNOWN' })
      })
    },
    settlementConfirmations: (jobId, anchorBlock) => settlementConfirmations({ market, jobId, anchorBlock, fromBlock: deployment.deployBlock }),
    findMovedPost: ({ postHash, specHash, postBlock, taken }) =>
      findMovedPost({ market, postHash, specHash, fromBlock: postBlock > movedPostSearchDepth ? postBlock - movedPostSearchDepth : 0n, taken }),
    idle: async () => {
      await Promise.all(sending)
    },
  }
}
