// An account's transactions on a real anvil whose chain the test reorganises and whose base fee it
// spikes: what a reorg dropped is mined again exactly once, and a transaction a spike priced out
// is replaced with the same nonce at fees a node accepts, before its deadline.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, createWalletClient, http, type Address, type PublicClient } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { startAnvil, type StartAnvilReturnType } from './anvil.ts'
import { devAccounts } from './devAccounts.ts'
import { accountTransactions, type TransactionEvent } from './accountTransactions.ts'
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

function sender(account = devAccounts(3)[1]!) {
  const events: TransactionEvent[] = []
  const walletClient = createWalletClient({ account, transport: http(anvil.rpcUrl) })
  const transactions = accountTransactions({ walletClient, publicClient, account, options: { pollMs: 50 }, onEvent: (event) => events.push(event) })
  // The sender's state changes on its own watch rounds: look at it as often.
  const until = async (done: () => boolean): Promise<void> => {
    while (!done()) await new Promise((resolve) => setTimeout(resolve, 50))
  }
  return { account, transactions, events, until }
}

const transfer = (to: Address, value: bigint, label = 'transfer') => ({ to, data: '0x' as const, value, gas: 21_000n, label })

describe('accountTransactions', { timeout: 60_000 }, () => {
  it('sends again what reorgs of depth 3 and 1 dropped: each transfer mined once, no nonce skipped', async () => {
    const { account, transactions, events, until } = sender()
    const to = privateKeyToAccount(generatePrivateKey()).address
    const nonceBefore = await publicClient.getTransactionCount({ address: account.address })
    for (const value of [1n, 2n, 3n]) await transactions.send(transfer(to, value))
    // Three blocks replaced by three empty ones: every transfer is gone, and the nonce is back.
    await rpc('anvil_reorg', [3, []])
    await until(() => events.filter((e) => e.type === 'resent').length === 3)
    expect(events.map((e) => [e.type, e.nonce - nonceBefore, e.reason])).toEqual([0, 1, 2].map((n) => ['resent', n, 'dropped by a reorg']))
    await until(() => transactions.inFlight().every((t) => t.minedIn !== null))
    await rpc('anvil_rollback', [1])
    await until(() => events.length === 4)
    await until(() => transactions.inFlight().every((t) => t.minedIn !== null))
    expect(await publicClient.getBalance({ address: to })).toBe(6n)
    expect(await publicClient.getTransactionCount({ address: account.address })).toBe(nonceBefore + 3)
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
