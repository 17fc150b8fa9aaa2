// Reads one job of a SandrunMarket through a viem public client and names its status. Shared by
// the verifier (which trusts only the chain) and node/chain's MarketReader.
import type { Address, Hex, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import type { ChainJobId } from '../chainJobId.ts'

/** JobStatus of contracts/src/MarketTypes.sol, in enum order. */
export const jobStatuses = ['None', 'Open', 'Escalated', 'Finalized', 'Inconclusive', 'Expired'] as const
export type JobStatusName = (typeof jobStatuses)[number]

export type MarketJob = {
  jobId: ChainJobId
  status: JobStatusName
  requester: Address
  reward: bigint
  collateral: bigint
  replicas: number
  quorum: number
  /** 0 while the first committee runs, 1 once dissent drew the escalation committee. */
  round: number
  /** Slots of the current round's committee. */
  roundSlots: number
  /** When the current round started (chain time, seconds): eligibility widens from here. */
  roundStart: number
  /** Deadlines of the current round. */
  commitDeadline: number
  revealDeadline: number
  /** The block whose hash seeds the current round's eligibility. */
  seedBlock: bigint
  /** The current round's seed once its first commit stored it; zero before. */
  seed: Hex
  /** Commits and reveals in the current round. */
  committed: number
  revealed: number
  /** Commits and reveals over all rounds. */
  totalCommitted: number
  totalRevealed: number
  /** Null unless the job is Finalized. */
  consensusRoot: Hex | null
}

export type ReadMarketJobParameters = { market: Address; jobId: ChainJobId }

/** Whether the job still takes commits or reveals (first or escalation round). */
export function isOpenStatus(status: JobStatusName): boolean {
  return status === 'Open' || status === 'Escalated'
}

export async function readMarketJob(client: PublicClient, { market, jobId }: ReadMarketJobParameters): Promise<MarketJob> {
  const job = await client.readContract({ address: market, abi: sandrunMarketAbi, functionName: 'getJob', args: [jobId] })
  const status = jobStatuses[job.status] ?? 'None'
  return {
    jobId,
    status,
    requester: job.requester,
    reward: job.reward,
    collateral: job.collateral,
    replicas: job.replicas,
    quorum: job.quorum,
    round: job.round,
    roundSlots: job.roundSlots,
    roundStart: job.roundStart,
    commitDeadline: job.commitDeadline,
    revealDeadline: job.revealDeadline,
    seedBlock: job.seedBlock,
    seed: job.seed,
    committed: job.committed,
    revealed: job.revealed,
    totalCommitted: job.totalCommitted,
    totalRevealed: job.totalRevealed,
    consensusRoot: status === 'Finalized' ? job.consensusRoot : null,
  }
}
