// The spec hash a job was posted with: the contract keeps it only in its JobPosted event (a
// storage word per job would cost every job 22k gas), where its topic makes the lookup cheap.
import type { Address, Hex, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'

export type ReadJobSpecHashParameters = {
  market: Address
  jobId: bigint
  /** First block to scan (the deployment block, or the job's post block when known). */
  fromBlock?: bigint | undefined
  toBlock?: bigint | undefined
}

/** The posted spec hash, or null when no JobPosted event exists for the id (yet). */
export async function readJobSpecHash(client: PublicClient, { market, jobId, fromBlock = 0n, toBlock }: ReadJobSpecHashParameters): Promise<Hex | null> {
  const logs = await client.getContractEvents({ address: market, abi: sandrunMarketAbi, eventName: 'JobPosted', args: { jobId }, fromBlock, ...(toBlock !== undefined ? { toBlock } : {}) })
  return logs[0]?.args.specHash ?? null
}
