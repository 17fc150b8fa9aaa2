// Every event of one market job in chain order, with the transaction hash and block of each: the
// evidence a verification report cites (who posted, committed, revealed, escalated, finalized, was refunded).
// Read in block pages (pageLogs), one eth_getLogs per page for all the job's event kinds.
import { encodeEventTopics, formatLog, numberToHex, pad, parseEventLogs, type Address, type Hash, type PublicClient, type RpcLog } from 'viem'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import type { ChainJobId } from '../chainJobId.ts'
import { pageLogs } from './pageLogs.ts'

export type MarketJobEvent = {
  eventName: string
  args: Record<string, unknown>
  blockNumber: bigint
  logIndex: number
  transactionHash: Hash
}

export type ReadJobEventsParameters = {
  market: Address
  jobId: ChainJobId
  /** The oldest block to look at (the deployment block); default 0. */
  fromBlock?: bigint | undefined
  /**
   * A block between the job's post and its settlement: its post block (the gateway's record has
   * it) or the seed block getJob reports (the post's, or the escalation's). Pages are read back from
   * there to the JobPosted and forward to the JobFinalized (or the head). Default: the head.
   */
  anchorBlock?: bigint | undefined
  /** Blocks per eth_getLogs; default 1,000. */
  pageBlocks?: bigint | undefined
}

const jobEventNames = ['JobPosted', 'SlotCommitted', 'SlotRevealed', 'JobEscalated', 'JobFinalized', 'RequesterRefunded', 'CollateralBurned'] as const
// Every job event has the job id as its first indexed argument, so one topic filter covers them all.
const eventTopics = jobEventNames.map((eventName) => encodeEventTopics({ abi: sandrunMarketAbi, eventName })[0]!)

export async function readJobEvents(client: PublicClient, { market, jobId, fromBlock = 0n, anchorBlock, pageBlocks }: ReadJobEventsParameters): Promise<MarketJobEvent[]> {
  const head = await client.getBlockNumber()
  const jobTopic = pad(numberToHex(jobId))
  const read = async (range: { fromBlock: bigint; toBlock: bigint }) => {
    const logs = await client.request({
      method: 'eth_getLogs',
      params: [{ address: market, topics: [eventTopics, jobTopic], fromBlock: numberToHex(range.fromBlock), toBlock: numberToHex(range.toBlock) }],
    })
    return parseEventLogs({ abi: sandrunMarketAbi, logs: (logs as RpcLog[]).map((log) => formatLog(log)) })
  }
  const anchor = anchorBlock !== undefined && anchorBlock >= fromBlock && anchorBlock <= head ? anchorBlock : head
  const has = (name: string) => (found: Array<{ eventName: string }>) => found.some((log) => log.eventName === name)
  const before = await pageLogs({ fromBlock, toBlock: anchor, read, pageBlocks, newestFirst: true, until: has('JobPosted') })
  // Settlement emits JobFinalized (with any refund or burn in the same transaction): nothing follows it.
  const after = has('JobFinalized')(before) ? [] : await pageLogs({ fromBlock: anchor + 1n, toBlock: head, read, pageBlocks, until: has('JobFinalized') })
  const logs = [...before, ...after]
  return logs
    .map((log) => ({
      eventName: log.eventName,
      args: log.args as Record<string, unknown>,
      blockNumber: log.blockNumber!,
      logIndex: log.logIndex!,
      transactionHash: log.transactionHash!,
    }))
    .sort((a, b) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1))
}
