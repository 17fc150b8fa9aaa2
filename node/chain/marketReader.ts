// Read side of the market: job, slots, accounts and per-job events, with enums turned into names.
// Needs only a public client, so gateways and verifiers can use it without a key.
import type { Address, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { readJobEvents, type MarketJobEvent, readJobSpecHash, readMarketJob, type MarketJob, readMarketSlots, type MarketSlot } from '../../verifier/chain/index.ts'
import type { ChainJobId, SpecHash } from '../../verifier/index.ts'
import type { MarketParams } from './marketParams.ts'
import type { PeerRegistration } from './peerRegistration.ts'

// The job and slot views live in verifier/chain so a verifier can read them without node/.
export { isOpenStatus, jobStatuses, type JobStatusName, type MarketJob } from '../../verifier/chain/index.ts'
export { slotOutcomes, type MarketSlot, type SlotOutcomeName } from '../../verifier/chain/index.ts'
export type { MarketJobEvent } from '../../verifier/chain/index.ts'

export type MarketAccount = {
  staked: bigint
  locked: bigint
  free: bigint
  balance: bigint
  unbonding: bigint
  unbondingEnd: number
  /** Compact id the market gives a worker at its first stake (0 = never staked). */
  workerIndex: number
  /** Block of the last stake deposit: it counts only for rounds seeded by a later block. */
  stakeBlock: bigint
}

export type MarketTotals = { workerCount: number; jobCount: bigint; totalStaked: bigint }

export type CreateMarketReaderParameters = { publicClient: PublicClient; address: Address }

export function createMarketReader({ publicClient, address }: CreateMarketReaderParameters) {
  const contract = { address, abi: sandrunMarketAbi } as const

  function getJob(jobId: ChainJobId): Promise<MarketJob> {
    return readMarketJob(publicClient, { market: address, jobId })
  }

  function getSlots(jobId: ChainJobId): Promise<MarketSlot[]> {
    return readMarketSlots(publicClient, { market: address, jobId })
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
      stakeBlock: a.stakeBlock,
    }
  }

  /** The peer id `worker` registered and its signature, unchecked (verifyPeerRegistration checks it). */
  async function getPeer(worker: Address): Promise<PeerRegistration> {
    const [peerId, signature] = await publicClient.readContract({ ...contract, functionName: 'peerOf', args: [worker] })
    return { peerId, signature }
  }

  async function getTotals(): Promise<MarketTotals> {
    const [workerCount, jobCount, totalStaked] = await publicClient.readContract({ ...contract, functionName: 'totals' })
    return { workerCount: Number(workerCount), jobCount, totalStaked }
  }

  /** The spec hash a job was posted with (from its JobPosted event); null for an unknown job. */
  function getJobSpecHash(jobId: ChainJobId, options: { fromBlock?: bigint; toBlock?: bigint } = {}): Promise<SpecHash | null> {
    return readJobSpecHash(publicClient, { market: address, jobId, ...options })
  }

  async function getParams(): Promise<MarketParams> {
    return publicClient.readContract({ ...contract, functionName: 'params' })
  }

  /** Every event of one job in chain order, with tx hashes for verification reports. */
  function getJobEvents(jobId: ChainJobId, options: { fromBlock?: bigint; anchorBlock?: bigint } = {}): Promise<MarketJobEvent[]> {
    return readJobEvents(publicClient, { market: address, jobId, ...options })
  }

  return { address, publicClient, getJob, getSlots, getAccount, getPeer, getTotals, getJobSpecHash, getParams, getJobEvents }
}

export type MarketReader = ReturnType<typeof createMarketReader>
