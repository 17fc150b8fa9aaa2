// Write side of the market for workers and requesters: every call waits for its receipt and
// turns the contract's custom errors into MarketRevertError. Extends the read-only MarketReader.
// Transactions go through the account's accountTransactions (nonces, fees, replacement, reorgs).
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  decodeErrorResult,
  encodeFunctionData,
  isHex,
  parseEventLogs,
  type Account,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  type Hex,
  type TransactionReceipt,
} from 'viem'
import { type ChainJobId, chainJobId, majorityQuorum, type SpecHash } from '../../verifier/index.ts'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { ChainError, MarketRevertError } from './errors.ts'
import { createMarketReader } from './marketReader.ts'
import type { PeerRegistration } from './peerRegistration.ts'
import { computeSeal, randomSalt } from './seal.ts'
import { accountTransactions, type AccountTransactionsOptions, type TransactionEvent } from './accountTransactions.ts'
import { chainTransport } from './chainTransport.ts'
import { chainHead } from './chainHead.ts'

export type CreateMarketClientParameters = {
  rpcUrl: string
  address: Address
  /** Signer for writes (e.g. privateKeyToAccount); reads work without one. */
  account?: Account
  /** Receipt polling interval in ms; default viem's (4 s) is too slow for a local chain. */
  pollingInterval?: number
  /** How the account's transactions are re-priced and watched for reorgs (defaultAccountTransactionsOptions). */
  transactions?: Partial<AccountTransactionsOptions> | undefined
  /** Told when a transaction is replaced, resent after a reorg, or lost. */
  onTransactionEvent?: ((event: TransactionEvent) => void) | undefined
}

export type TxResult = { hash: Hash; receipt: TransactionReceipt }

/** One item of a commitMany/revealMany transaction: null when it landed, else why it was skipped. */
export type BatchItemOutcome = ChainError | null

type MarketWriteFunction = ContractFunctionName<typeof sandrunMarketAbi, 'nonpayable' | 'payable'>
type MarketWrite<F extends MarketWriteFunction> = {
  functionName: F
  args?: ContractFunctionArgs<typeof sandrunMarketAbi, 'nonpayable' | 'payable', F>
  value?: bigint
  /** Chain time (s) by which it must be mined (a window's end): it is re-priced urgently as it nears. */
  deadline?: number | undefined
  /** Calls of the batch (commitMany, revealMany): each may write a fresh storage word. */
  items?: number | undefined
}

export const gasMargin = {
  // Other workers' commits and reveals mined first make the same call cost a few percent more.
  percent: 25n,
  // ...and a slot that lands in a fresh storage word costs a zero-to-nonzero SSTORE on a cold slot
  // (22,100 gas; every 4th commit slot today), about 35% of a commit: more than the percentage.
  freshStorageWord: 22_100n,
} as const

/** The gas limit sent for a call estimated at `estimate` (unused gas is not charged); `items` calls in a batch. */
export function withGasMargin(estimate: bigint, items = 1): bigint {
  return (estimate * (100n + gasMargin.percent)) / 100n + gasMargin.freshStorageWord * BigInt(items)
}

/** Turn a viem error carrying a decoded custom error into MarketRevertError; others pass through. */
/** The raw revert data an error in viem's chain carries (a selector at least), or null. */
function revertData(error: unknown): Hex | null {
  return error instanceof Error && 'data' in error && isHex(error.data) && error.data.length >= 10 ? error.data : null
}

export function toMarketError(error: unknown): unknown {
  if (!(error instanceof BaseError)) return error
  const reverted = error.walk((e) => e instanceof ContractFunctionRevertedError)
  if (reverted instanceof ContractFunctionRevertedError && reverted.data?.errorName) {
    return new MarketRevertError(reverted.data.errorName, reverted.data.args ?? [], error)
  }
  // Paths viem does not decode itself (e.g. deployContract) still carry the raw revert data.
  const data = revertData(error.walk((e) => revertData(e) !== null))
  if (data) {
    try {
      const decoded = decodeErrorResult({ abi: sandrunMarketAbi, data })
      return new MarketRevertError(decoded.errorName, decoded.args ?? [], error)
    } catch {
      // Not one of the market's errors: keep viem's own message.
    }
  }
  return error
}

export function createMarketClient({ rpcUrl, address, account, pollingInterval = 250, transactions: transactionOptions, onTransactionEvent }: CreateMarketClientParameters) {
  const transport = chainTransport(rpcUrl)
  const publicClient = createPublicClient({ transport, pollingInterval })
  const walletClient = account ? createWalletClient({ account, transport, pollingInterval }) : undefined
  const reader = createMarketReader({ publicClient, address })
  const head = chainHead(publicClient)
  const contract = { address, abi: sandrunMarketAbi, chain: null } as const
  // Signed here, so a local account is required to send; a remote signer is not supported.
  const transactions =
    walletClient && account?.type === 'local'
      ? accountTransactions({ walletClient, publicClient, account, options: { pollMs: pollingInterval, ...transactionOptions }, onEvent: onTransactionEvent, head })
      : undefined

  function signer() {
    if (!transactions || !account) throw new ChainError('NO_ACCOUNT', 'this market client has no local account; pass `account` (a private key account) to send transactions.')
    return { transactions, account }
  }

  /**
   * Estimate, then send with a margin: the estimate holds only for the state it ran against, and a
   * commit mined after other workers' commits (a later slot) or a finalize racing a reveal costs more.
   */
  async function execute<F extends MarketWriteFunction>(write: MarketWrite<F>): Promise<TxResult> {
    const { transactions, account } = signer()
    const { deadline, items, ...call } = write
    const request = { ...contract, account, ...call }
    let sent: TxResult
    try {
      // Against 'pending': the account's own earlier transactions may still be unmined (sends are
      // pipelined, accountTransactions.ts), and this call may depend on what they change.
      // Call sites are checked by MarketWrite; viem cannot narrow a generic function name itself.
      const estimate = await publicClient.estimateContractGas({ ...request, blockTag: 'pending' } as never)
      const data = encodeFunctionData({ abi: sandrunMarketAbi, functionName: write.functionName, args: write.args } as never)
      sent = await transactions.send({ to: address, data, value: write.value, gas: withGasMargin(estimate, items), label: write.functionName, deadline })
    } catch (error) {
      throw toMarketError(error)
    }
    const { hash, receipt } = sent
    if (receipt.status !== 'success') throw await revertedOnChain(write, account, hash, receipt.blockNumber)
    return { hash, receipt }
  }

  /** Names the reason of a mined revert by replaying the call on the state it left, when the contract gives one. */
  async function revertedOnChain<F extends MarketWriteFunction>(write: MarketWrite<F>, account: Account, hash: Hash, blockNumber: bigint): Promise<ChainError> {
    const { deadline: _deadline, items: _items, ...call } = write
    const replayed = await publicClient
      .simulateContract({ ...contract, account, ...call, blockNumber } as never)
      .then(() => undefined, (error: unknown) => toMarketError(error))
    if (replayed instanceof MarketRevertError) return replayed
    return new ChainError('MARKET_REVERTED', `transaction ${hash} reverted on chain; the state changed between gas estimation and inclusion, retry after re-reading it.`)
  }

  async function stake({ value }: { value: bigint }): Promise<TxResult> {
    return execute({ functionName: 'stake', value })
  }

  /** Register the peer id that serves this account's results, with the peer key's signature (signPeerRegistration). */
  async function registerPeer({ peerId, signature }: PeerRegistration): Promise<TxResult> {
    return execute({ functionName: 'registerPeer', args: [peerId, signature] })
  }

  async function requestUnstake(amount: bigint): Promise<TxResult> {
    return execute({ functionName: 'requestUnstake', args: [amount] })
  }

  async function withdrawStake(): Promise<TxResult> {
    return execute({ functionName: 'withdrawStake' })
  }

  async function withdraw(): Promise<TxResult> {
    return execute({ functionName: 'withdraw' })
  }

  type PostJobParameters = { specHash: SpecHash; replicas: number; quorum?: number; commitWindow: number; revealWindow: number; reward: bigint }

  /** Post a job escrowing `reward` (whole gwei) x `replicas`; quorum defaults to a strict majority. */
  async function postJob(p: PostJobParameters): Promise<TxResult & { jobId: ChainJobId }> {
    const quorum = p.quorum ?? majorityQuorum(p.replicas)
    const result = await execute({
      functionName: 'postJob',
      args: [p.specHash, p.replicas, quorum, p.commitWindow, p.revealWindow],
      value: p.reward * BigInt(p.replicas),
    })
    const [posted] = parseEventLogs({ abi: sandrunMarketAbi, logs: result.receipt.logs, eventName: 'JobPosted' })
    if (!posted) throw new ChainError('MARKET_REVERTED', `postJob transaction ${result.hash} emitted no JobPosted event; is ${address} a SandrunMarket?`)
    return { ...result, jobId: chainJobId(posted.args.jobId) }
  }

  /**
   * Post several jobs in one transaction (postJobs): all or nothing, so one invalid job fails them
   * all with its own reason. Returns each job's id, in the order given.
   */
  async function postJobs(posts: PostJobParameters[]): Promise<TxResult & { jobIds: ChainJobId[] }> {
    const items = posts.map((p) => ({
      specHash: p.specHash,
      replicas: p.replicas,
      quorum: p.quorum ?? majorityQuorum(p.replicas),
      commitWindow: p.commitWindow,
      revealWindow: p.revealWindow,
      escrow: p.reward * BigInt(p.replicas),
    }))
    const result = await execute({ functionName: 'postJobs', args: [items], value: items.reduce((sum, item) => sum + item.escrow, 0n) })
    const jobIds = parseEventLogs({ abi: sandrunMarketAbi, logs: result.receipt.logs, eventName: 'JobPosted' }).map((event) => chainJobId(event.args.jobId))
    if (jobIds.length !== posts.length) throw new ChainError('MARKET_REVERTED', `postJobs transaction ${result.hash} emitted ${jobIds.length} JobPosted events for ${posts.length} jobs; is ${address} a SandrunMarket?`)
    return { ...result, jobIds }
  }

  /** Commit a sealed root before `deadline` (the commit window's end). Keep the returned salt: reveal needs it. */
  async function commit({ jobId, resultRoot, salt = randomSalt(), deadline }: { jobId: ChainJobId; resultRoot: Hex; salt?: Hex; deadline?: number }): Promise<TxResult & { seal: Hex; salt: Hex }> {
    const { account } = signer()
    const seal = computeSeal({ jobId, worker: account.address, resultRoot, salt })
    const result = await execute({ functionName: 'commit', args: [jobId, seal], deadline })
    return { ...result, seal, salt }
  }

  async function reveal({ jobId, resultRoot, salt, deadline }: { jobId: ChainJobId; resultRoot: Hex; salt: Hex; deadline?: number }): Promise<TxResult> {
    return execute({ functionName: 'reveal', args: [jobId, resultRoot, salt], deadline })
  }

  type SlotItem = { jobId: ChainJobId; resultRoot: Hex; salt: Hex }

  /**
   * Several commits in one transaction (commitMany, docs/contracts.md): each lands or is skipped on
   * its own. Returns each item's outcome, in the order given: null when it landed, else the error a
   * commit alone would have met (MarketRevertError; a ChainError when it ran out of gas, worth a retry).
   */
  async function commitMany(items: SlotItem[], { deadline }: { deadline?: number | undefined } = {}): Promise<TxResult & { outcomes: BatchItemOutcome[] }> {
    const { account } = signer()
    const args = items.map((item) => ({ jobId: item.jobId, seal: computeSeal({ jobId: item.jobId, worker: account.address, resultRoot: item.resultRoot, salt: item.salt }) }))
    const result = await execute({ functionName: 'commitMany', args: [args], deadline, items: items.length })
    return { ...result, outcomes: batchOutcomes(result, items, 'SlotCommitted') }
  }

  /** Several reveals in one transaction (revealMany): as commitMany. */
  async function revealMany(items: SlotItem[], { deadline }: { deadline?: number | undefined } = {}): Promise<TxResult & { outcomes: BatchItemOutcome[] }> {
    const args = items.map(({ jobId, resultRoot, salt }) => ({ jobId, resultRoot, salt }))
    const result = await execute({ functionName: 'revealMany', args: [args], deadline, items: items.length })
    return { ...result, outcomes: batchOutcomes(result, items, 'SlotRevealed') }
  }

  /** Each item emits either its own Slot* event or a BatchItemSkipped, in item order. */
  function batchOutcomes({ hash, receipt }: TxResult, items: SlotItem[], landed: 'SlotCommitted' | 'SlotRevealed'): BatchItemOutcome[] {
    const worker = signer().account.address.toLowerCase()
    const events = parseEventLogs({ abi: sandrunMarketAbi, logs: receipt.logs, eventName: [landed, 'BatchItemSkipped'] }).filter((event) => event.args.worker.toLowerCase() === worker)
    if (events.length !== items.length) throw new ChainError('MARKET_REVERTED', `transaction ${hash} emitted ${events.length} outcomes for ${items.length} items; is ${address} a SandrunMarket?`)
    return events.map((event) => {
      if (event.eventName !== 'BatchItemSkipped') return null
      const reason = event.args.reason
      if (reason.length < 10) return new ChainError('MARKET_REVERTED', `the ${landed === 'SlotCommitted' ? 'commit' : 'reveal'} of job ${event.args.jobId} in transaction ${hash} ran out of gas; send it again.`)
      try {
        const decoded = decodeErrorResult({ abi: sandrunMarketAbi, data: reason })
        return new MarketRevertError(decoded.errorName, decoded.args ?? [], null)
      } catch {
        return new ChainError('MARKET_REVERTED', `job ${event.args.jobId} was skipped in transaction ${hash} with an unknown reason ${reason}.`)
      }
    })
  }

  async function finalize(jobId: ChainJobId): Promise<TxResult> {
    return execute({ functionName: 'finalize', args: [jobId] })
  }

  return { ...reader, account, transactions, head, stake, registerPeer, requestUnstake, withdrawStake, withdraw, postJob, postJobs, commit, reveal, commitMany, revealMany, finalize }
}

export type MarketClient = ReturnType<typeof createMarketClient>
