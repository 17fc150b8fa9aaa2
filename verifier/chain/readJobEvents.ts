// Every event of one market job in chain order, with the transaction hash and block of each: the
// evidence a verification report cites (who posted, committed, revealed, escalated, finalized, was refunded).
import type { Address, Hash, PublicClient } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'

export type MarketJobEvent = {
  eventName: string
  args: Record<string, unknown>
  blockNumber: bigint
  logIndex: number
  transactionHash: Hash
}

export type ReadJobEventsParameters = {
  market: Address
  jobId: bigint
  /** First block to scan; the deployment block saves the RPC a scan from genesis. */
  fromBlock?: bigint | undefined
}

const jobEventNames = ['JobPosted', 'SlotCommitted', 'SlotRevealed', 'JobEscalated', 'JobFinalized', 'RequesterRefunded', 'CollateralBurned'] as const

export async function readJobEvents(client: PublicClient, { market, jobId, fromBlock = 0n }: ReadJobEventsParameters): Promise<MarketJobEvent[]> {
  const batches = await Promise.all(
    jobEventNames.map((eventName) => client.getContractEvents({ address: market, abi: sandrunMarketAbi, eventName, args: { jobId }, fromBlock })),
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
