// The spec hash a job was posted with: the contract keeps it only in its JobPosted event (a
// storage word per job would cost every job 22k gas), where its topic makes the lookup cheap.
// Read back from the head in block pages: a job a worker or verifier asks about is a recent one.
import type { Address, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import type { ChainJobId } from '../chainJobId.ts'
import { parseSpecHash } from '../parseSpecHash.ts'
import type { SpecHash } from '../parseSpecHash.ts'
import { pageLogs } from './pageLogs.ts'

export type ReadJobSpecHashParameters = {
  market: Address
  jobId: ChainJobId
  /** The oldest block to look at (the deployment block, or the job's post block when known). */
  fromBlock?: bigint | undefined
  /** The newest block to look at; default the head. A block at or just after the post (the seed
   * block getJob reports) finds the JobPosted in the first page. */
  toBlock?: bigint | undefined
}

/** The posted spec hash, or null when no JobPosted event exists for the id (yet). */
export async function readJobSpecHash(client: PublicClient, { market, jobId, fromBlock = 0n, toBlock }: ReadJobSpecHashParameters): Promise<SpecHash | null> {
  const logs = await pageLogs({
    fromBlock,
    toBlock: toBlock ?? (await client.getBlockNumber()),
    read: (range) => client.getContractEvents({ address: market, abi: sandrunMarketAbi, eventName: 'JobPosted', args: { jobId }, ...range }),
    newestFirst: true,
    until: (found) => found.length > 0,
  })
  const posted = logs[0]?.args.specHash
  return posted === undefined ? null : parseSpecHash(posted)
}
