// How deep a settled job's settlement lies: the block of its JobFinalized event to the head, both
// counted. The gateway calls a job completed only once this reaches the chain's confirmation depth
// (node/chain/confirmationDepth.ts), so a reorg cannot take back a result it already served.
import type { MarketClient } from '../../chain/marketClient.ts'
import type { MarketJobEvent } from '../../chain/marketReader.ts'
import type { ChainJobId } from '../../../verifier/index.ts'

export type SettlementConfirmationsParameters = {
  market: Pick<MarketClient, 'publicClient' | 'getJobEvents'>
  jobId: ChainJobId
  /** The job's post block (where its events start), and the oldest block any read may start from. */
  anchorBlock: bigint
  fromBlock: bigint
  /** The job's events when the caller already read them. */
  events?: MarketJobEvent[] | undefined
}

/** Blocks on top of the settlement, itself included; 0 when no JobFinalized is on chain (a reorg took it). */
export async function settlementConfirmations({ market, jobId, anchorBlock, fromBlock, events }: SettlementConfirmationsParameters): Promise<number> {
  const [read, head] = await Promise.all([events ?? market.getJobEvents(jobId, { fromBlock, anchorBlock }), market.publicClient.getBlockNumber({ cacheTime: 0 })])
  const settled = read.find((event) => event.eventName === 'JobFinalized')
  return settled ? Number(head - settled.blockNumber + 1n) : 0
}
