// Read side of the market: job, slots, accounts and per-job events, with enums turned into names.
// Needs only a public client, so gateways and verifiers can use it without a key.
import type { Address, Hash, Hex, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import type { MarketParams } from './marketParams.ts'

export const jobStatuses = ['None', 'Open', 'Finalized', 'Inconclusive', 'Cancelled', 'Expired'] as const
export type JobStatusName = (typeof jobStatuses)[number]
export const slotOutcomes = ['Empty', 'Committed', 'Revealed', 'Won', 'Dissented', 'NotRevealed', 'Released'] as const
export type SlotOutcomeName = (typeof slotOutcomes)[number]

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

export type MarketSlot = {
  index: number
  worker: Address | null
  committed: boolean
  revealed: boolean
  /** The revealed result root; null before reveal (the stored value is then the seal's top 224 bits). */
  revealedRoot: Hex | null
  outcome: SlotOutcomeName
  /** True when the worker lost its collateral in this job. */
  slashed: boolean
}

export type MarketAccount = {
  staked: bigint
  locked: bigint
  free: bigint
  balance: bigint
  unbonding: bigint
  unbondingEnd: number
  /** Compact id the market gives a worker at its first stake (0 = never staked). */
  workerIndex: number
}

export type MarketJobEvent = {
  eventName: string
  args: Record<string, unknown>
  blockNumber: bigint
  logIndex: number
  transactionHash: Hash
}

export type CreateMarketReaderParameters = { publicClient: PublicClient; address: Address }

const jobEventNames = ['JobPosted', 'SlotCommitted', 'SlotRevealed', 'JobFinalized', 'RequesterRefunded', 'JobCancelled'] as const
const zeroAddress = '0x0000000000000000000000000000000000000000'

export function createMarketReader({ publicClient, address }: CreateMarketReaderParameters) {
  const contract = { address, abi: sandrunMarketAbi } as const

  async function getJob(jobId: bigint): Promise<MarketJob> {
    const job = await publicClient.readContract({ ...contract, functionName: 'getJob', args: [jobId] })
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

  async function getSlots(jobId: bigint): Promise<MarketSlot[]> {
    const slots = await publicClient.readContract({ ...contract, functionName: 'getSlots', args: [jobId] })
    return slots.map((slot, index) => {
      const outcome = slotOutcomes[slot.outcome] ?? 'Empty'
      return {
        index,
        worker: slot.worker === zeroAddress ? null : slot.worker,
        committed: slot.committed,
        revealed: slot.revealed,
        revealedRoot: slot.revealed ? slot.root : null,
        outcome,
        slashed: outcome === 'Dissented' || outcome === 'NotRevealed',
      }
    })
  }

  async function getAccount(account: Address): Promise<MarketAccount> {
    const a = await publicClient.readContract({ ...contract, functionName: 'accountOf', args: [account] })
    return {
      staked: a.staked,
      locked: a.locked,
      free: a.staked - a.locked,
      balance: a.balance,
      unbonding: a.unbonding,
      unbondingEnd: Number(a.unbondingEnd),
      workerIndex: Number(a.workerIndex),
    }
  }

  async function getPeerId(worker: Address): Promise<Hex> {
    return publicClient.readContract({ ...contract, functionName: 'peerIdOf', args: [worker] })
  }

  async function getParams(): Promise<MarketParams> {
    return publicClient.readContract({ ...contract, functionName: 'params' })
  }

  async function getJobCount(): Promise<bigint> {
    return publicClient.readContract({ ...contract, functionName: 'jobCount' })
  }

  /** Every event of one job in chain order, with tx hashes for verification reports. */
  async function getJobEvents(jobId: bigint, options: { fromBlock?: bigint } = {}): Promise<MarketJobEvent[]> {
    const batches = await Promise.all(
      jobEventNames.map((eventName) =>
        publicClient.getContractEvents({ ...contract, eventName, args: { jobId }, fromBlock: options.fromBlock ?? 0n }),
      ),
    )
    return batches
      .flat()
      .map((log) => ({
        eventName: log.eventName,
        args: log.args as Record<string, unknown>,
        blockNumber: log.blockNumber,
        logIndex: log.logIndex,
        transactionHash: log.transactionHash,
      }))
      .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1))
  }

  return { address, publicClient, getJob, getSlots, getAccount, getPeerId, getParams, getJobCount, getJobEvents }
}

export type MarketReader = ReturnType<typeof createMarketReader>
