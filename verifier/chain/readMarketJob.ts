// Reads one job of a SandrunMarket through a viem public client and names its status. Shared by
// the verifier (which trusts only the chain) and node/chain's MarketReader.
import type { Address, Hex, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'

/** JobStatus of contracts/src/MarketTypes.sol, in enum order. */
export const jobStatuses = ['None', 'Open', 'Finalized', 'Inconclusive', 'Cancelled', 'Expired'] as const
export type JobStatusName = (typeof jobStatuses)[number]

export type MarketJob = {
  jobId: bigint
  status: JobStatusName
  requester: Address
  specHash: Hex
  reward: bigint
  collateral: bigint
  replicas: number
  quorum: number
  commitDeadline: number
  revealDeadline: number
  committed: number
  revealed: number
  /** Null unless the job is Finalized. */
  consensusRoot: Hex | null
}

export type ReadMarketJobParameters = { market: Address; jobId: bigint }

export async function readMarketJob(client: PublicClient, { market, jobId }: ReadMarketJobParameters): Promise<MarketJob> {
  const job = await client.readContract({ address: market, abi: sandrunMarketAbi, functionName: 'getJob', args: [jobId] })
  const status = jobStatuses[job.status] ?? 'None'
  return {
    jobId,
    status,
    requester: job.requester,
    specHash: job.specHash,
    reward: job.reward,
    collateral: job.collateral,
    replicas: job.replicas,
    quorum: job.quorum,
    commitDeadline: job.commitDeadline,
    revealDeadline: job.revealDeadline,
    committed: job.committed,
    revealed: job.revealed,
    consensusRoot: status === 'Finalized' ? job.consensusRoot : null,
  }
}
