// One account's transactions, in one place: it assigns the nonces, signs every transaction itself
// (so the hash is known before it leaves, sendOnce.ts) and watches each one until it is
// `watchDepth` blocks deep. One that waits too long for a block, or whose max fee a base-fee spike
// left below the next block's, is replaced (same nonce, fees from transactionFees.ts); one that a
// reorg dropped is sent again as the same bytes, so the account's nonces never get a gap. Sends are
// pipelined: each takes the next nonce and goes out at once, many in flight per account; one the node
// refuses for good is turned into an empty filler transaction, so the nonces after it still get mined.
import { keccak256, TransactionReceiptNotFoundError, type Address, type Hash, type Hex, type LocalAccount, type PublicClient, type TransactionReceipt, type WalletClient } from 'viem'
import { chainHead, type ChainHead, type PendingBlock } from './chainHead.ts'
import { refusedForGood, sendOnce } from './sendOnce.ts'
import { transactionFees, type Fees } from './transactionFees.ts'

export type AccountTransactionsOptions = {
  /** Blocks a transaction may wait unmined before it is re-priced. */
  replaceAfterBlocks: number
  /** A mined transaction is watched for reorgs until this many blocks deep. */
  watchDepth: number
  /** Within this many seconds of its deadline, a transaction is re-priced every block, urgently. */
  urgentBeforeDeadlineS: number
  /** How often the chain is looked at while something is in flight (ms). */
  pollMs: number
}

export const defaultAccountTransactionsOptions: AccountTransactionsOptions = {
  // A block or two without inclusion is normal when blocks are full; three means the tip is too low.
  replaceAfterBlocks: 3,
  // Reorgs of 1-3 blocks happen on L1 and on L2s' unsafe heads; deeper ones are what confirmations are for.
  watchDepth: 3,
  // Commit and reveal windows are minutes long: the last 30 s are for getting in at any price.
  urgentBeforeDeadlineS: 30,
  pollMs: 250,
}

export type TransactionEvent = {
  /** `filled`: the node refused it for good; an empty transfer took its nonce so the later ones still get mined. */
  type: 'replaced' | 'resent' | 'lost' | 'filled'
  label: string
  nonce: number
  hash: Hash
  reason: string
}

export type SendTransactionParameters = {
  to: Address
  data: Hex
  value?: bigint | undefined
  gas: bigint
  /** What the transaction does, for logs ("commit", "reveal"). */
  label: string
  /** Chain time (s) by which it must be mined: it is re-priced urgently as this nears. */
  deadline?: number | undefined
}

export type AccountTransactionsParameters = {
  walletClient: WalletClient
  publicClient: PublicClient
  account: LocalAccount
  options?: Partial<AccountTransactionsOptions> | undefined
  onEvent?: ((event: TransactionEvent) => void) | undefined
  /** Where the pending block and tip are read (shared with the rest of the process); default its own. */
  head?: ChainHead | undefined
}

export type InFlightTransaction = { nonce: number; label: string; hash: Hash; minedIn: bigint | null }

export type AccountTransactions = {
  /**
   * Takes the next nonce, signs and sends without waiting for earlier transactions to be mined, then
   * resolves with the first receipt (a later reorg is handled here, not by the caller).
   */
  send(parameters: SendTransactionParameters): Promise<{ hash: Hash; receipt: TransactionReceipt }>
  /** Transactions sent and not yet `watchDepth` deep, in nonce order. */
  inFlight(): InFlightTransaction[]
  /**
   * Stops watching everything sent so far, and forgets the nonces it held: for a dev chain about to be
   * reverted to a snapshot (evm_revert), which no real chain does. A reorg is handled without it.
   */
  forget(): void
}

type Version = { hash: Hash; serialized: Hex; fees: Fees }
type Entry = {
  nonce: number
  request: SendTransactionParameters
  versions: Version[]
  /** The pending block's number when the last version went out. */
  sentAtBlock: bigint
  mined: bigint | null
  waiters: Array<{ resolve: (r: { hash: Hash; receipt: TransactionReceipt }) => void; reject: (error: Error) => void }>
}

export function accountTransactions({ walletClient, publicClient, account, options = {}, onEvent = () => undefined, head = chainHead(publicClient) }: AccountTransactionsParameters): AccountTransactions {
  const o = { ...defaultAccountTransactionsOptions, ...options }
  const entries: Entry[] = []
  let chainId: number | undefined
  let queue: Promise<unknown> = Promise.resolve()
  let watching = false
  // Nothing of the account's transactions changes between blocks: a round looks at them only when
  // the head changed since the last round that finished (a reorg changes it too).
  let lastHead: Hash | null = null
  // Counts forget() calls: a round that began before one acts on nothing it had read.
  let generation = 0

  const latest = (entry: Entry): Version => entry.versions.at(-1)!
  const report = (entry: Entry, type: TransactionEvent['type'], reason: string): void =>
    onEvent({ type, label: entry.request.label, nonce: entry.nonce, hash: latest(entry).hash, reason })

  /** Out of the watch for good; whoever still waits for it is told why. */
  function lose(entry: Entry, reason: string): void {
    const at = entries.indexOf(entry)
    if (at >= 0) entries.splice(at, 1)
    report(entry, 'lost', reason)
    for (const waiter of entry.waiters.splice(0)) waiter.reject(new Error(`${entry.request.label} was lost: ${reason}`))
  }

  // A read from within the last poll interval is as good as one of this instant for what this file decides.
  const pendingBlock = (): Promise<PendingBlock> => head.pending(o.pollMs)

  /** The account's next nonce: the chain's, unless transactions a reorg dropped still hold theirs here. */
  async function nextNonce(): Promise<number> {
    const onChain = await publicClient.getTransactionCount({ address: account.address, blockTag: 'pending' })
    const last = entries.at(-1)
    return last && last.nonce + 1 > onChain ? last.nonce + 1 : onChain
  }

  async function sign(entry: Entry, fees: Fees): Promise<Version> {
    chainId ??= await publicClient.getChainId()
    const { to, data, value, gas } = entry.request
    const serialized = await account.signTransaction({ type: 'eip1559', chainId, nonce: entry.nonce, to, data, value, gas, ...fees })
    return { hash: keccak256(serialized), serialized, fees }
  }

  const send = (serialized: Hex): Promise<Hash> => sendOnce({ walletClient, publicClient, serializedTransaction: serialized })

  /** The receipt of whichever version was mined, or null; other errors (the RPC failing) propagate. */
  async function receiptOf(entry: Entry): Promise<TransactionReceipt | null> {
    for (const version of [...entry.versions].reverse()) {
      try {
        return await publicClient.getTransactionReceipt({ hash: version.hash })
      } catch (error) {
        if (!(error instanceof TransactionReceiptNotFoundError)) throw error
      }
    }
    return null
  }

  function mined(entry: Entry, receipt: TransactionReceipt): void {
    entry.mined = receipt.blockNumber
    for (const waiter of entry.waiters.splice(0)) waiter.resolve({ hash: receipt.transactionHash, receipt })
  }

  /** Nonce, signature and send: one at a time, so the nonces leave in order and a refused send frees its nonce for the next. */
  async function dispatch(request: SendTransactionParameters): Promise<{ entry: Entry; done: Promise<{ hash: Hash; receipt: TransactionReceipt }> }> {
    const block = await pendingBlock()
    const [tip, nonce] = await Promise.all([head.tip(block.head), nextNonce()])
    const entry: Entry = { nonce, request, versions: [], sentAtBlock: block.number, mined: null, waiters: [] }
    const version = await sign(entry, transactionFees({ baseFee: block.baseFee, tip }))
    entry.versions.push(version)
    await send(version.serialized)
    // Waited on from here: a watch round may see it mined before the sender looks.
    const done = new Promise<{ hash: Hash; receipt: TransactionReceipt }>((resolve, reject) => entry.waiters.push({ resolve, reject }))
    entries.push(entry)
    entries.sort((a, b) => a.nonce - b.nonce)
    return { entry, done }
  }

  async function submit({ entry, done }: { entry: Entry; done: Promise<{ hash: Hash; receipt: TransactionReceipt }> }): Promise<{ hash: Hash; receipt: TransactionReceipt }> {
    // On an automining chain the receipt already exists; skip the polling delay then.
    if (entry.mined === null) {
      const receipt = await receiptOf(entry).catch(() => null)
      if (receipt && entry.mined === null && entries.includes(entry)) mined(entry, receipt)
    }
    watch()
    return done
  }

  function watch(): void {
    if (watching) return
    watching = true
    void (async () => {
      while (entries.length > 0) {
        // Someone awaits an unmined transaction: keep the process alive; watching for depth alone does not.
        const waited = entries.some((entry) => entry.waiters.length > 0)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, o.pollMs)
          if (!waited) timer.unref()
        })
        // The RPC failing is not the transactions' fault: look again next round.
        await round().catch(() => undefined)
      }
      watching = false
    })()
  }

  async function round(): Promise<void> {
    const started = generation
    const block = await pendingBlock()
    if (block.head === lastHead) return
    await fillNonceGap(block)
    // A receipt from a block after `block.head` means this round saw a later chain than its head:
    // the head is not marked seen then (a rollback to it must be looked at again).
    let newest = -1n
    for (const entry of [...entries]) {
      const receipt = await receiptOf(entry)
      if (!entries.includes(entry)) continue
      if (receipt && receipt.blockNumber > newest) newest = receipt.blockNumber
      if (receipt) {
        if (entry.mined === null) mined(entry, receipt)
        entry.mined = receipt.blockNumber
        // Deeper than any reorg the watch covers: `watchDepth` blocks on top of its own.
        if (block.number - receipt.blockNumber > BigInt(o.watchDepth)) entries.splice(entries.indexOf(entry), 1)
      } else if (entry.mined !== null) {
        await resendDropped(entry, block)
      } else {
        await replaceIfStuck(entry, block)
      }
    }
    // Only a round that looked at everything counts: after a failed read the next one looks again.
    if (generation === started && newest < block.number) lastHead = block.head
  }

  /**
   * A reorg deeper than the watch took out a transaction no longer held here: the nonces after it
   * can never be mined. Each missing nonce is filled with a transfer of nothing to the account itself.
   */
  async function fillNonceGap(block: PendingBlock): Promise<void> {
    const started = generation
    const lowest = entries.find((entry) => entry.mined === null)
    if (!lowest) return
    const onChain = await publicClient.getTransactionCount({ address: account.address, blockTag: 'latest' })
    for (let nonce = onChain; nonce < lowest.nonce; nonce++) {
      if (entries.some((entry) => entry.nonce === nonce)) continue
      const filler: Entry = { nonce, request: { to: account.address, data: '0x', value: 0n, gas: 21_000n, label: 'nonce gap filler' }, versions: [], sentAtBlock: block.number, mined: null, waiters: [] }
      filler.versions.push(await sign(filler, transactionFees({ baseFee: block.baseFee, tip: await head.tip(block.head) })))
      if (generation !== started) return
      await send(latest(filler).serialized)
      entries.push(filler)
      entries.sort((a, b) => a.nonce - b.nonce)
      report(filler, 'resent', 'a reorg deeper than the watch left a gap in the nonces')
    }
  }

  /**
   * A reorg took a mined transaction out of the chain: the same bytes still fit the same nonce. So
   * does a chain now shorter than when it went out (anvil_rollback; an RPC behind a load balancer
   * answering from a node some blocks behind; a node read in the middle of its own reorg): the
   * transactions of the account before it are sent again too, in nonce order, so it lands where it
   * was meant to, and one whose purpose the new chain no longer has reverts and costs only its gas.
   * Dropping it instead gave its nonce to a gap filler and lost a worker's commit for good (the reorg
   * market test, about 1 run in 6). Only a dev chain's snapshot revert forgets (forget()).
   */
  async function resendDropped(entry: Entry, block: PendingBlock): Promise<void> {
    if (!entries.includes(entry)) return
    entry.mined = null
    entry.sentAtBlock = block.number
    try {
      await send(latest(entry).serialized)
      report(entry, 'resent', 'dropped by a reorg')
    } catch (error) {
      // Another transaction of this account took the nonce in the new chain: nothing left to resend.
      if (!/nonce too low/i.test(String((error as Error).message))) throw error
      lose(entry, 'its nonce was used by another transaction after a reorg')
    }
  }

  async function replaceIfStuck(entry: Entry, block: PendingBlock): Promise<void> {
    const { fees } = latest(entry)
    const { deadline } = entry.request
    const urgent = deadline !== undefined && block.timestamp + o.urgentBeforeDeadlineS >= deadline && block.number > entry.sentAtBlock
    const reason =
      block.baseFee > fees.maxFeePerGas
        ? 'base fee above its max fee'
        : urgent
          ? 'deadline near'
          : block.number - entry.sentAtBlock >= BigInt(o.replaceAfterBlocks)
            ? `not mined in ${o.replaceAfterBlocks} blocks`
            : null
    if (reason === null) return
    const version = await sign(entry, transactionFees({ baseFee: block.baseFee, tip: await head.tip(block.head), previous: fees, urgent }))
    if (!entries.includes(entry)) return
    entry.versions.push(version)
    entry.sentAtBlock = block.number
    try {
      await send(version.serialized)
    } catch (error) {
      // Mined meanwhile (nonce too low) or a node that wants a bigger bump: the next round sees which.
      if (/nonce too low|underpriced/i.test(String((error as Error).message))) return
      if (!refusedForGood(error)) throw error
      await fill(entry, block, error as Error)
      return
    }
    report(entry, 'replaced', reason)
  }

  /**
   * The node dropped the transaction and refuses it now (funds gone, a limit changed): it can never
   * be mined, and every later nonce of the account waits behind it. Its sender is told; an empty
   * transfer to the account itself takes the nonce.
   */
  async function fill(entry: Entry, block: PendingBlock, error: Error): Promise<void> {
    for (const waiter of entry.waiters.splice(0)) waiter.reject(error)
    const { fees } = latest(entry)
    entry.request = { to: account.address, data: '0x', value: 0n, gas: 21_000n, label: `nonce filler for ${entry.request.label}` }
    const version = await sign(entry, transactionFees({ baseFee: block.baseFee, tip: await head.tip(block.head), previous: fees }))
    entry.versions.push(version)
    entry.sentAtBlock = block.number
    await send(version.serialized)
    // viem keeps the node's own words in `details`; its shortMessage is generic.
    const { details } = error as { details?: string }
    report(entry, 'filled', `refused by the node: ${details ?? error.message.split('\n')[0]}`)
  }

  return {
    send(request) {
      const turn = queue.then(() => dispatch(request))
      queue = turn.catch(() => undefined)
      return turn.then(submit)
    },
    forget() {
      generation++
      lastHead = null
      for (const entry of entries.splice(0)) for (const waiter of entry.waiters.splice(0)) waiter.reject(new Error(`${entry.request.label} was forgotten: the chain was reverted to a snapshot`))
    },
    inFlight: () => entries.map((entry) => ({ nonce: entry.nonce, label: entry.request.label, hash: latest(entry).hash, minedIn: entry.mined })),
  }
}
