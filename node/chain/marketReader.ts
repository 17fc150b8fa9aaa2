// Read side of the market: job, slots, accounts and per-job events, with enums turned into names.
// Needs only a public client, so gateways and verifiers can use it without a key.
import type { Address, Hex, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { readJobEvents, type MarketJobEvent } from '../../verifier/chain/readJobEvents.ts'
import { readMarketJob, type MarketJob } from '../../verifier/chain/readMarketJob.ts'
import { readMarketSlots, type MarketSlot } from '../../verifier/chain/readMarketSlots.ts'
import type { MarketParams } from './marketParams.ts'

// The job and slot views live in verifier/chain so a verifier can read them without node/.
export { jobStatuses, type JobStatusName, type MarketJob } from '../../verifier/chain/readMarketJob.ts'
export { slotOutcomes, type MarketSlot, type SlotOutcomeName } from '../../verifier/chain/readMarketSlots.ts'
export type { MarketJobEvent } from '../../verifier/chain/readJobEvents.ts'

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

export type CreateMarketReaderParameters = { publicClient: PublicClient; address: Address }

export function createMarketReader({ publicClient, address }: CreateMarketReaderParameters) {
  const contract = { address, abi: sandrunMarketAbi } as const

  function getJob(jobId: bigint): Promise<MarketJob> {
    return readMarketJob(publicClient, { market: address, jobId })
  }

  function getSlots(jobId: bigint): Promise<MarketSlot[]> {
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
  function getJobEvents(jobId: bigint, options: { fromBlock?: bigint } = {}): Promise<MarketJobEvent[]> {
    return readJobEvents(publicClient, { market: address, jobId, fromBlock: options.fromBlock })
  }

  return { address, publicClient, getJob, getSlots, getAccount, getPeerId, getParams, getJobCount, getJobEvents }
}

export type MarketReader = ReturnType<typeof createMarketReader>
