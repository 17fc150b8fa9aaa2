// A worker's commits and reveals due together go in one transaction (workerChain through
// slotBatcher, on a real anvil): each caller gets its own outcome (the batch's receipt, or its own
// item's error while the others land); one alone goes as a plain commit. A batch is one
// transaction to the account: a base-fee spike re-prices it and a reorg sends it again, and each of
// its jobs is still committed once.
import { decodeFunctionData, keccak256, parseEther, toHex, type Hash, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { MarketRevertError } from '../../node/chain/errors.ts'
import type { TransactionEvent } from '../../node/chain/accountTransactions.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient, type MarketClient } from '../../node/chain/marketClient.ts'
import { randomSalt } from '../../node/chain/seal.ts'
import { workerChain, type WorkerChain } from '../../node/market/worker/workerChain.ts'
import { type ChainJobId, parseSpecHash } from '../../verifier/index.ts'
import { startMarketHarness, type MarketHarness } from './marketHarness.ts'

const root = (n: number): Hex => keccak256(toHex(`result ${n}`))

let h: MarketHarness
let requester: MarketClient
let client: MarketClient
let chain: WorkerChain
/** What the worker's account did to its transactions (replaced, resent after a reorg). */
const events: TransactionEvent[] = []

beforeAll(async () => {
  h = await startMarketHarness({ accounts: 3 })
  requester = h.clients[1]!
  client = createMarketClient({ rpcUrl: h.anvil.rpcUrl, address: h.market, account: devAccounts(3)[2]!, pollingInterval: 20, onTransactionEvent: (event) => events.push(event) })
  await client.stake({ value: parseEther('10') })
  chain = workerChain({ client, chainId: await h.publicClient.getChainId() })
})
afterAll(async () => h?.stop())

/** Posts `count` one-replica jobs and moves chain time to when the worker is drawn for all of them. */
async function drawnJobs(count: number, label: string): Promise<ChainJobId[]> {
  const jobs = Array.from({ length: count }, (_, n) => ({
    specHash: parseSpecHash(keccak256(toHex(`${label} ${n}`))),
    replicas: 1,
    commitWindow: 100,
    revealWindow: 100,
    reward: parseEther('0.1'),
  }))
  const { jobIds } = await requester.postJobs(jobs)
  await h.untilDrawnForAll(client, jobIds)
  return jobIds
}

async function functionOf(hash: Hash): Promise<string> {
  const { input } = await h.publicClient.getTransaction({ hash })
  return decodeFunctionData({ abi: sandrunMarketAbi, data: input }).functionName
}

describe("a worker's commits and reveals in batches", () => {
  it('due together: one commitMany and one revealMany, each caller told its own outcome', async () => {
    const jobIds = await drawnJobs(3, 'together')
    const salts = jobIds.map(() => randomSalt())
    const commits = await Promise.allSettled([
      ...jobIds.map((jobId, i) => chain.commit({ jobId, resultRoot: root(i), salt: salts[i]!, deadline: 10 ** 10 })),
      chain.commit({ jobId: jobIds[0]!, resultRoot: root(0), salt: salts[0]! }),
    ])
    const landed = commits.slice(0, 3).map((c) => (c.status === 'fulfilled' ? c.value.hash : c.reason))
    expect(new Set(landed).size).toBe(1)
    expect(await functionOf(landed[0] as Hash)).toBe('commitMany')
    const duplicate = commits[3]!
    expect(duplicate.status === 'rejected' && duplicate.reason instanceof MarketRevertError && duplicate.reason.errorName).toBe('MarketAlreadyCommitted')
    for (const jobId of jobIds) expect((await client.getSlots(jobId))[0]?.worker).toBe(client.account!.address)

    const reveals = await Promise.all(jobIds.map((jobId, i) => chain.reveal({ jobId, resultRoot: root(i), salt: salts[i]! })))
    expect(new Set(reveals.map((r) => r.hash)).size).toBe(1)
    expect(await functionOf(reveals[0]!.hash)).toBe('revealMany')
    for (const [i, jobId] of jobIds.entries()) expect(await client.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: root(i) })
  })

  it('one alone goes as a plain commit', async () => {
    const [jobId] = await drawnJobs(1, 'alone')
    const alone = await chain.commit({ jobId: jobId!, resultRoot: root(0), salt: randomSalt() })
    expect(await functionOf(alone.hash)).toBe('commit')
    expect((await client.getSlots(jobId!))[0]?.worker).toBe(client.account!.address)
  })
})

async function rpc(method: string, params: unknown[] = []): Promise<void> {
  const response = await fetch(h.anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
  const body = (await response.json()) as { error?: { message: string } }
  if (body.error) throw new Error(`${method}: ${body.error.message}`)
}

/** The account acts on its own watch rounds (every 20 ms here): look as often. */
async function until(done: () => boolean): Promise<void> {
  while (!done()) await new Promise((resolve) => setTimeout(resolve, 20))
}

describe('a batch is one transaction to the account', () => {
  it('a commitMany a base-fee spike priced out is replaced, one a reorg dropped is sent again: each job committed once, one nonce used', async () => {
    const jobIds = await drawnJobs(3, 'repriced')
    const salts = jobIds.map(() => randomSalt())
    const address = client.account!.address
    const nonce = await h.publicClient.getTransactionCount({ address })
    const inFlight = () => client.transactions!.inFlight()
    // Earlier tests' transactions may still be watched (until 3 blocks deep): this one has the next nonce.
    const batch = () => inFlight().find((t) => t.nonce === nonce)
    let landed: Hash[]
    await rpc('evm_setAutomine', [false])
    try {
      const commits = Promise.all(jobIds.map((jobId, i) => chain.commit({ jobId, resultRoot: root(i), salt: salts[i]!, deadline: 10 ** 10 })))
      await until(() => batch() !== undefined)
      const original = batch()
      expect(original?.label).toBe('commitMany')
      // The next block's base fee jumps far above the batch's max fee: it stays out, and is re-priced.
      await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(500n * 10n ** 9n).toString(16)}`])
      await rpc('evm_mine')
      await until(() => events.some((e) => e.type === 'replaced'))
      expect(events).toEqual([expect.objectContaining({ type: 'replaced', label: 'commitMany', nonce, reason: 'base fee above its max fee' })])
      await rpc('evm_mine')
      landed = (await commits).map((c) => c.hash)
      expect(new Set(landed).size).toBe(1)
      expect(landed[0]).not.toBe(original!.hash)
    } finally {
      await rpc('evm_setAutomine', [true])
    }
    expect(await functionOf(landed[0]!)).toBe('commitMany')

    // The block that holds the batch is replaced by an empty one: all three commits are gone at once.
    await rpc('anvil_reorg', [1, []])
    await until(() => events.some((e) => e.type === 'resent'))
    expect(events.filter((e) => e.type === 'resent')).toEqual([expect.objectContaining({ label: 'commitMany', nonce, reason: 'dropped by a reorg' })])
    await until(() => batch()?.minedIn !== null)
    // Mined again as the same signed batch, with the same nonce: nothing sent twice, no nonce skipped.
    expect((await h.publicClient.getTransactionReceipt({ hash: landed[0]! })).status).toBe('success')
    expect(await h.publicClient.getTransactionCount({ address })).toBe(nonce + 1)
    for (const jobId of jobIds) expect((await client.getSlots(jobId)).map((slot) => slot.worker)).toEqual([address])

    const reveals = await Promise.all(jobIds.map((jobId, i) => chain.reveal({ jobId, resultRoot: root(i), salt: salts[i]! })))
    expect(await functionOf(reveals[0]!.hash)).toBe('revealMany')
    for (const [i, jobId] of jobIds.entries()) expect(await client.getJob(jobId)).toMatchObject({ status: 'Finalized', consensusRoot: root(i) })
  })
  it('reads a job once per head: again once a block came, and once its own transaction was mined', async () => {
    const [jobId] = await drawnJobs(1, 'heads')
    const reads: ChainJobId[] = []
    const getJob: MarketClient['getJob'] = (id) => {
      reads.push(id)
      return client.getJob(id)
    }
    const counted = workerChain({ client: { ...client, getJob }, chainId: await h.publicClient.getChainId() })
    const first = await counted.nextBlock()
    const [a, b] = await Promise.all([counted.getJob(jobId!, first.head), counted.getJob(jobId!, first.head)])
    expect(reads).toHaveLength(1)
    expect(b).toEqual(a)
    // Another account's block: a new head, read again.
    await h.testClient.mine({ blocks: 1 })
    const second = await counted.nextBlock()
    expect(second.head).not.toBe(first.head)
    await counted.getJob(jobId!, second.head)
    expect(reads).toHaveLength(2)
    // Its own commit mined: even at the head it was given (a poll's read may be that old), the commit shows.
    await counted.commit({ jobId: jobId!, resultRoot: root(9), salt: randomSalt(), deadline: 10 ** 10 })
    expect((await counted.getJob(jobId!, second.head)).committed).toBe(a.committed + 1)
    expect(reads).toHaveLength(3)
  })
})
