// An account's transactions on a real anvil whose chain the test reorganises and whose base fee it
// spikes: what a reorg dropped is mined again exactly once, and a transaction a spike priced out
// is replaced with the same nonce at fees a node accepts, before its deadline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, createWalletClient, http, type Address, type LocalAccount, type PublicClient } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { startAnvil, type StartAnvilReturnType } from './anvil.ts'
import { devAccounts } from './devAccounts.ts'
import { accountTransactions, type AccountTransactionsOptions, type TransactionEvent } from './accountTransactions.ts'
import { transactionFees } from './transactionFees.ts'

let anvil: StartAnvilReturnType
let publicClient: PublicClient
const gwei = 10n ** 9n

async function rpc(method: string, params: unknown[] = []): Promise<unknown> {
  const response = await fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  const body = (await response.json()) as { result?: unknown; error?: { message: string } }
  if (body.error) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

beforeAll(async () => {
  anvil = await startAnvil()
  publicClient = createPublicClient({ transport: http(anvil.rpcUrl), pollingInterval: 50 })
})
afterAll(async () => {
  await anvil?.stop()
})

function sender(account: LocalAccount = devAccounts(3)[1]!, options: Partial<AccountTransactionsOptions> = {}) {
  const events: TransactionEvent[] = []
  const walletClient = createWalletClient({ account, transport: http(anvil.rpcUrl) })
  const transactions = accountTransactions({ walletClient, publicClient, account, options: { pollMs: 50, ...options }, onEvent: (event) => events.push(event) })
  // The sender's state changes on its own watch rounds: look at it as often.
  const until = async (done: () => boolean): Promise<void> => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { account, transactions, events, until }
}

const transfer = (to: Address, value: bigint, label = 'transfer') => ({ to, data: '0x' as const, value, gas: 21_000n, label })

/** A fresh account holding `wei`, so no other test's nonces or balance get in the way. */
async function funded(wei: bigint) {
  const account = privateKeyToAccount(generatePrivateKey())
  await rpc('anvil_setBalance', [account.address, `0x${wei.toString(16)}`])
  return account
}

/** Runs `body` with blocks mined only by the test (`evm_mine`) or every `interval` seconds. */
async function withoutAutomine<T>(body: () => Promise<T>, interval?: number): Promise<T> {
  await rpc('evm_setAutomine', [false])
  if (interval) await rpc('evm_setIntervalMining', [interval])
  try {
    return await body()
  } finally {
    if (interval) await rpc('evm_setIntervalMining', [0])
    await rpc('evm_setAutomine', [true])
  }
}

describe('accountTransactions', { timeout: 60_000 }, () => {
  it('pipelines: eight sends from one account go out before any is mined and all land in one block, nonces consecutive', async () => {
    const { account, transactions } = sender(await funded(10n ** 18n))
    const to = privateKeyToAccount(generatePrivateKey()).address
    await withoutAutomine(async () => {
      const sends = [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n].map((value) => transactions.send(transfer(to, value)))
      // All eight wait in the node's pool at once: none waited for an earlier one's receipt.
      for (;;) {
        const pool = (await rpc('txpool_content')) as { pending: Record<string, Record<string, unknown>> }
        const mine = Object.entries(pool.pending).find(([address]) => address.toLowerCase() === account.address.toLowerCase())?.[1] ?? {}
        if (Object.keys(mine).length === 8) break
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      await rpc('evm_mine')
      const mined = await Promise.all(sends)
      expect(new Set(mined.map(({ receipt }) => receipt.blockNumber)).size).toBe(1)
      const nonces = await Promise.all(mined.map(({ hash }) => publicClient.getTransaction({ hash }).then((t) => t.nonce)))
      expect(nonces).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    })
    expect(await publicClient.getBalance({ address: to })).toBe(36n)
  })

  it('between blocks a watch round reads the pending block alone: the receipt is looked for once a block came', async () => {
    const methods: string[] = []
    const counted = createPublicClient({
      transport: http(anvil.rpcUrl, { onFetchRequest: async (request) => void methods.push(((await request.clone().json()) as { method: string }).method) }),
    })
    const account = await funded(10n ** 18n)
    const transactions = accountTransactions({ walletClient: createWalletClient({ account, transport: http(anvil.rpcUrl) }), publicClient: counted, account, options: { pollMs: 20 } })
    const to = privateKeyToAccount(generatePrivateKey()).address
    const count = (method: string, from = 0) => methods.slice(from).filter((m) => m === method).length
    await withoutAutomine(async () => {
      const sent = transactions.send(transfer(to, 1n))
      // The send's own look and the first watch round's, while no block came.
      await expect.poll(() => count('eth_getTransactionReceipt')).toBe(2)
      const from = methods.length
      await expect.poll(() => count('eth_getBlockByNumber', from), { timeout: 10_000 }).toBeGreaterThanOrEqual(10)
      expect(new Set(methods.slice(from))).toEqual(new Set(['eth_getBlockByNumber']))
      await rpc('evm_mine')
      expect((await sent).receipt.status).toBe('success')
      expect(count('eth_getTransactionReceipt', from)).toBe(1)
    })
  })

  it('a send the node refuses fails alone: the sends around it take consecutive nonces and are mined together', async () => {
    const { account, transactions, until } = sender(await funded(10n ** 18n))
    const to = privateKeyToAccount(generatePrivateKey()).address
    await withoutAutomine(async () => {
      const first = transactions.send(transfer(to, 1n))
      // Below a transfer's intrinsic 21,000 gas: refused when sent, so it never held a nonce.
      const refused = transactions.send({ ...transfer(to, 2n, 'too little gas'), gas: 20_000n })
      const last = transactions.send(transfer(to, 4n))
      await expect(refused).rejects.toThrow(/intrinsic gas/i)
      await until(() => transactions.inFlight().length === 2)
      await rpc('evm_mine')
      const [a, c] = await Promise.all([first, last])
      expect(a.receipt.blockNumber).toBe(c.receipt.blockNumber)
      expect((await publicClient.getTransaction({ hash: c.hash })).nonce).toBe(1)
    })
    expect(await publicClient.getBalance({ address: to })).toBe(5n)
    expect(await publicClient.getTransactionCount({ address: account.address })).toBe(2)
  })

  it('a pending transaction the node dropped and now refuses gives its nonce to an empty filler: the later one is still mined', async () => {
    const { account, transactions, events, until } = sender(await funded(10n ** 18n), { replaceAfterBlocks: 1 })
    const to = privateKeyToAccount(generatePrivateKey()).address
    await withoutAutomine(async () => {
      const big = transactions.send(transfer(to, 5n * 10n ** 17n, 'big transfer'))
      const small = transactions.send(transfer(to, 7n, 'small transfer'))
      await until(() => transactions.inFlight().length === 2)
      // The node forgets the first, and the account can no longer pay for it: its re-send is refused.
      await rpc('anvil_dropTransaction', [transactions.inFlight()[0]!.hash])
      await rpc('anvil_setBalance', [account.address, `0x${(10n ** 16n).toString(16)}`])
      await expect(big).rejects.toThrow(/insufficient funds/i)
      const { receipt } = await small
      expect(receipt.status).toBe('success')
    }, 1)
    // (The small transfer, stuck behind the gap for a block, may have been re-priced meanwhile.)
    expect(events.filter((e) => e.type !== 'replaced').map((e) => [e.type, e.nonce, e.reason])).toEqual([['filled', 0, expect.stringMatching(/insufficient funds/i)]])
    expect(await publicClient.getBalance({ address: to })).toBe(7n)
    expect(await publicClient.getTransactionCount({ address: account.address })).toBe(2)
  })

  it('sends again what reorgs of depth 3 and 1 dropped: each transfer mined once, no nonce skipped', async () => {
    const { account, transactions, events, until } = sender()
    const to = privateKeyToAccount(generatePrivateKey()).address
    const nonceBefore = await publicClient.getTransactionCount({ address: account.address })
    // Sent together: pipelined, each mined in its own block on the automining chain.
    await Promise.all([1n, 2n, 3n].map((value) => transactions.send(transfer(to, value))))
    // Three blocks replaced by three empty ones: every transfer is gone, and the nonce is back.
    await rpc('anvil_reorg', [3, []])
    // All three are sent again. A watch round that was under way when the chain changed may resend a
    // later one first, or one twice (the same signed transaction: mined once, as the balance shows).
    const resentNonces = () => new Set(events.filter((e) => e.type === 'resent').map((e) => e.nonce - nonceBefore))
    await until(() => resentNonces().size === 3)
    expect([...resentNonces()].sort()).toEqual([0, 1, 2])
    expect(events.every((e) => e.type === 'resent' && e.reason === 'dropped by a reorg')).toBe(true)
    await until(() => transactions.inFlight().every((t) => t.minedIn !== null))
    const beforeRollback = events.length
    await rpc('anvil_rollback', [1])
    // The transfer of the block rolled back is sent again. A watch round during the rollback may also
    // re-send one whose receipt it briefly did not see: the same signed transaction (same hash), which
    // can be mined once only; the balance and the nonce below show each transfer landed once.
    await until(() => events.slice(beforeRollback).some((e) => e.type === 'resent' && e.nonce - nonceBefore === 2))
    await until(() => transactions.inFlight().every((t) => t.minedIn !== null))
    expect(await publicClient.getBalance({ address: to })).toBe(6n)
    expect(await publicClient.getTransactionCount({ address: account.address })).toBe(nonceBefore + 3)
  })

  it('sends again what a rollback to before it was sent took out (a shorter chain, as a lagging RPC node shows too): no nonce given to a filler', async () => {
    const { account, transactions, events, until } = sender(await funded(10n ** 18n))
    const to = privateKeyToAccount(generatePrivateKey()).address
    // One after the other: each sent while the chain was a block longer than for the one before.
    for (const value of [1n, 2n, 4n]) await transactions.send(transfer(to, value))
    // The chain goes back to before the last two were sent.
    await rpc('anvil_rollback', [3])
    const resent = () => new Set(events.filter((e) => e.type === 'resent').map((e) => e.nonce)).size
    await until(() => resent() === 3 || events.some((e) => e.type !== 'resent'))
    expect(events.filter((e) => e.type !== 'resent')).toEqual([])
    await until(() => transactions.inFlight().every((t) => t.minedIn !== null))
    expect(events.every((e) => e.reason === 'dropped by a reorg' && e.label === 'transfer')).toBe(true)
    expect(await publicClient.getBalance({ address: to })).toBe(7n)
    expect(await publicClient.getTransactionCount({ address: account.address })).toBe(3)
  })

  it('replaces a transaction a base-fee spike priced out: same nonce, tip and max fee up at least 10 %, mined before its deadline', async () => {
    const { account, transactions, events, until } = sender(devAccounts(3)[2]!)
    const to = privateKeyToAccount(generatePrivateKey()).address
    const nonce = await publicClient.getTransactionCount({ address: account.address })
    await rpc('evm_setAutomine', [false])
    try {
      const head = await publicClient.getBlock()
      const deadline = Number(head.timestamp) + 120
      const sent = transactions.send({ ...transfer(to, 5n), deadline })
      await until(() => transactions.inFlight().length > 0)
      const [first] = transactions.inFlight()
      const original = await publicClient.getTransaction({ hash: first!.hash })
      // The next block's base fee jumps far above the transaction's max fee: it stays out.
      await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(500n * gwei).toString(16)}`])
      await rpc('evm_mine')
      await until(() => events.some((e) => e.type === 'replaced'))
      expect(events[0]).toMatchObject({ type: 'replaced', nonce, reason: 'base fee above its max fee' })
      await rpc('evm_mine')
      const { hash, receipt } = await sent
      const mined = await publicClient.getTransaction({ hash })
      expect(mined.nonce).toBe(nonce)
      expect(hash).not.toBe(original.hash)
      expect(mined.maxPriorityFeePerGas! * 10n).toBeGreaterThanOrEqual(original.maxPriorityFeePerGas! * 11n)
      expect(mined.maxFeePerGas! * 10n).toBeGreaterThanOrEqual(original.maxFeePerGas! * 11n)
      expect(Number((await publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp)).toBeLessThanOrEqual(deadline)
      await expect(publicClient.getTransactionReceipt({ hash: original.hash })).rejects.toThrow(/could not be found/)
      expect(await publicClient.getTransactionCount({ address: account.address })).toBe(nonce + 1)
      expect(await publicClient.getBalance({ address: to })).toBe(5n)
    } finally {
      await rpc('evm_setAutomine', [true])
    }
  })
})

describe('transactionFees', () => {
  it('covers twice the base fee; a replacement raises tip and max fee by 12.5 %, or to what the fee now needs', () => {
    const first = transactionFees({ baseFee: 10n * gwei, tip: gwei })
    expect(first).toEqual({ maxPriorityFeePerGas: gwei, maxFeePerGas: 21n * gwei })
    expect(transactionFees({ baseFee: 10n * gwei, tip: gwei, previous: first })).toEqual({ maxPriorityFeePerGas: 1_125_000_000n, maxFeePerGas: 23_625_000_000n })
    // A spike: the bump alone would stay below the new base fee.
    expect(transactionFees({ baseFee: 100n * gwei, tip: gwei, previous: first }).maxFeePerGas).toBe(201_125_000_000n)
    // Near the deadline: fees double, and cover three times the base fee.
    expect(transactionFees({ baseFee: 100n * gwei, tip: gwei, previous: first, urgent: true })).toEqual({ maxPriorityFeePerGas: 2n * gwei, maxFeePerGas: 302n * gwei })
  })
})
