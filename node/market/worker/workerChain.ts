// What the worker needs from the chain, as one small interface: reads of jobs, slots and its
// account, its transactions (pipelined: the account's transactions hand out the nonces, so several
// jobs' commits and reveals are in flight at once; those due together go in one commitMany or
// revealMany, slotBatcher.ts) and block time.
// Built on the market client; tests could hand createWorker any other implementation.
import type { Address, Hex } from 'viem'
import { sandrunMarketAbi } from '../../../contracts/abi.ts'
import { ChainError, MarketRevertError } from '../../chain/errors.ts'
import type { MarketClient, TxResult } from '../../chain/marketClient.ts'
import type { MarketAccount, MarketJob, MarketSlot, MarketTotals } from '../../chain/marketReader.ts'
import type { PeerRegistration } from '../../chain/peerRegistration.ts'
import { firstBlockSince } from '../../chain/firstBlockSince.ts'
import { readsAtHead } from '../../chain/readsAtHead.ts'
import { pageLogs } from '../../../verifier/chain/index.ts'
import { type ChainJobId, chainJobId, type SpecHash } from '../../../verifier/index.ts'
import { silentLog, type WorkerLog } from './workerLog.ts'
import { slotBatcher } from './slotBatcher.ts'

export type WorkerChain = {
  /** The worker's own account (derived from its key). */
  address: Address
  chainId: number
  market: Address
  /**
   * Reads of what the chain holds. Given `head` (nextBlock's), a read is made once for that head and
   * shared: nothing changes until the next block. It may show a later block than `head` (then it is
   * read again for that one), never an earlier one; a transaction of this worker mined drops them all.
   */
  getJob(jobId: ChainJobId, head?: Hex): Promise<MarketJob>
  getSlots(jobId: ChainJobId, head?: Hex): Promise<MarketSlot[]>
  getAccount(head?: Hex): Promise<MarketAccount>
  getTotals(head?: Hex): Promise<MarketTotals>
  /**
   * The spec hash the job was posted with (its JobPosted event), read back from `before` (the job's
   * seed block, at or after its post) or the head; null for an unknown job.
   */
  getJobSpecHash(jobId: ChainJobId, before?: bigint): Promise<SpecHash | null>
  getPeer(): Promise<PeerRegistration>
  /**
   * The block the next transaction lands in, as the node sees it: its number and timestamp (the
   * 'pending' block), the clock the contract's windows and eligibility run on, and the hash of the
   * block it builds on (what the chain holds is the same while it is). From a read that started at
   * most `maxAgeMs` ago (chainHead.ts); by default one that starts now.
   */
  nextBlock(maxAgeMs?: number): Promise<{ number: bigint; timestamp: number; head: Hex }>
  /** Hash of a past block (round seeds). */
  blockHash(number: bigint): Promise<Hex>
  /** What a unit of gas costs in the next block: its base fee plus the tip the node suggests (wei). */
  feePerGas(): Promise<bigint>
  /** ETH the account holds outside the market (for stake and gas). */
  walletBalance(): Promise<bigint>
  /** Ids of jobs this account committed to since `fromBlock` that may still be open (recovery after a lost data dir). */
  committedJobIds(fromBlock: bigint): Promise<ChainJobId[]>
  stake(p: { value: bigint }): Promise<TxResult>
  registerPeer(p: PeerRegistration): Promise<TxResult>
  /**
   * Commits (reveals) due together go in one commitMany (revealMany, slotBatcher.ts); each caller
   * gets its own outcome. `deadline`: the window's end (chain time, s); a transaction still unmined
   * near it is re-priced urgently.
   */
  commit(p: SlotParameters): Promise<TxResult>
  reveal(p: SlotParameters): Promise<TxResult>
  finalize(jobId: ChainJobId): Promise<TxResult>
  withdraw(): Promise<TxResult>
  /** Whether a transaction of this account is sent and not mined yet (one a reorg dropped is being sent again). */
  sending(): boolean
}

type SlotParameters = { jobId: ChainJobId; resultRoot: Hex; salt: Hex; deadline?: number | undefined }

export type WorkerChainParameters = {
  client: MarketClient
  chainId: number
  /** Where event scans start (the deployment block). */
  deployBlock?: bigint
  log?: WorkerLog
}

// A transaction estimated against one state and mined after other workers' commits can run out of
// the estimated gas (a later slot costs more); estimating again either succeeds or names the reason.
const maxSendAttempts = 3

async function sendWithRetry<T>(send: () => Promise<T>, log: WorkerLog): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await send()
    } catch (error) {
      const revertedAfterEstimate = error instanceof ChainError && error.code === 'MARKET_REVERTED' && !(error instanceof MarketRevertError)
      if (!revertedAfterEstimate || attempt >= maxSendAttempts) throw error
      log('transaction reverted after estimation; retrying', { attempt, reason: error.shortMessage })
    }
  }
}

export function workerChain({ client, chainId, deployBlock = 0n, log = silentLog }: WorkerChainParameters): WorkerChain {
  const account = client.account
  if (!account) throw new Error('workerChain needs a market client with an account')
  const { publicClient } = client
  const reads = readsAtHead()
  const sent = async <T>(send: () => Promise<T>): Promise<T> => {
    try {
      return await sendWithRetry(send, log)
    } finally {
      // Mined or not, what this worker sent may have changed what it reads next.
      reads.clear()
    }
  }
  // A retry goes back through the batcher: into the next batch with whatever else is due then.
  const commits = slotBatcher({ sendOne: (p: SlotParameters) => client.commit(p), sendMany: (items, options) => client.commitMany(items, options) })
  const reveals = slotBatcher({ sendOne: (p: SlotParameters) => client.reveal(p), sendMany: (items, options) => client.revealMany(items, options) })
  return {
    address: account.address,
    chainId,
    market: client.address,
    getJob: (jobId, head) => reads.at(head, `job ${jobId}`, () => client.getJob(jobId)),
    getSlots: (jobId, head) => reads.at(head, `slots ${jobId}`, () => client.getSlots(jobId)),
    getAccount: (head) => reads.at(head, 'account', () => client.getAccount(account.address)),
    getTotals: (head) => reads.at(head, 'totals', () => client.getTotals()),
    getJobSpecHash: (jobId, before) => client.getJobSpecHash(jobId, { fromBlock: deployBlock, ...(before === undefined ? {} : { toBlock: before }) }),
    getPeer: () => client.getPeer(account.address),
    async nextBlock(maxAgeMs) {
      const { number, timestamp, head } = await client.head.pending(maxAgeMs)
      return { number, timestamp, head }
    },
    async blockHash(number) {
      const block = await publicClient.getBlock({ blockNumber: number })
      return block.hash
    },
    async feePerGas() {
      // A cost estimate: a read from the last half second does.
      const block = await client.head.pending(500)
      return block.baseFee + (await client.head.tip(block.head))
    },
    walletBalance: () => publicClient.getBalance({ address: account.address }),
    async committedJobIds(fromBlock) {
      // Only a job still open can cost this worker its collateral, and one is open at most two rounds
      // of the longest windows: read the logs of that span, not the whole chain since `fromBlock`.
      const [params, head] = await Promise.all([client.getParams(), publicClient.getBlock({ blockTag: 'latest' })])
      const openSpan = 2n * (params.maxCommitWindow + params.maxRevealWindow) + 3600n
      const start = await firstBlockSince(publicClient, { timestamp: head.timestamp - openSpan, lowest: fromBlock })
      const logs = await pageLogs({
        fromBlock: start,
        toBlock: head.number,
        read: (range) => publicClient.getContractEvents({ address: client.address, abi: sandrunMarketAbi, eventName: 'SlotCommitted', args: { worker: account.address }, ...range }),
      })
      return [...new Set(logs.map((log) => log.args.jobId).filter((id): id is bigint => id !== undefined))].map(chainJobId)
    },
    stake: (p) => sent(() => client.stake(p)),
    registerPeer: (p) => sent(() => client.registerPeer(p)),
    commit: (p) => sent(() => commits(p)),
    reveal: (p) => sent(() => reveals(p)),
    finalize: (jobId) => sent(() => client.finalize(jobId)),
    withdraw: () => sent(() => client.withdraw()),
    sending: () => client.transactions?.inFlight().some((tx) => tx.minedIn === null) ?? false,
  }
}
