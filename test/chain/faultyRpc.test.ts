// The market's chain clients behind a provider-like RPC (test/chain/faultyRpc.ts) in front of a real
// anvil: log reads stay within a 1,000-block range, 429s, timeouts and dropped connections are
// retried, and a send whose answer was lost is not sent again with another nonce.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, parseEther, type Hex, type PublicClient } from 'viem'
import { chainTransport } from '../../node/chain/chainTransport.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient } from '../../node/chain/marketClient.ts'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { verifyJob } from '../../verifier/chain/index.ts'
import { startChainFixture, type ChainFixture } from '../verify/chainFixture.ts'
import { startFaultyRpc, type FaultyRpc } from './faultyRpc.ts'

let chain: ChainFixture
const proxies: FaultyRpc[] = []
const rootA: Hex = `0x${'aa'.repeat(32)}`

beforeAll(async () => {
  chain = await startChainFixture({ workers: 4 })
})
afterAll(async () => {
  await Promise.all(proxies.map((p) => p.close()))
  await chain?.stop()
})

async function proxy(parameters: Omit<Parameters<typeof startFaultyRpc>[0], 'target'>): Promise<{ rpc: FaultyRpc; client: PublicClient }> {
  const rpc = await startFaultyRpc({ target: chain.anvil.rpcUrl, ...parameters })
  proxies.push(rpc)
  return { rpc, client: createPublicClient({ transport: chainTransport(rpc.url, { timeoutMs: 1000 }), pollingInterval: 20 }) }
}

describe('behind a provider-like RPC', () => {
  it('refuses eth_getLogs over 1,000 blocks, and a job is still verified through it in pages', async () => {
    // Past one page of blocks (anvil's anvil_mine slows down as its chain grows: keep it short).
    await fetch(chain.anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'anvil_mine', params: ['0x4b0'] }) })
    const job = await chain.settleJob({ roots: [rootA, rootA, rootA] })
    const { rpc, client } = await proxy({ seed: 1 })
    const scan = client.getContractEvents({ address: chain.deployment.market, abi: sandrunMarketAbi, eventName: 'JobPosted', fromBlock: 0n })
    await expect(scan).rejects.toThrow(/exceed maximum block range: 1000/)
    const report = await verifyJob(client, { chainId: chain.deployment.chainId, market: chain.deployment.market, jobId: job.jobId, fromBlock: chain.deployment.deployBlock })
    expect(report).toMatchObject({ status: 'Finalized', consensusRoot: rootA, verdict: { verified: true } })
    expect(report.steps.posted?.txHash).toBe(job.posted)
    expect(report.slots.map((s) => s.reveal?.txHash)).toEqual(job.reveals)
    expect(rpc.counts.logRangeRefused).toBe(1)
  })

  it('retries 429s and dropped connections, and sends each transaction once', async () => {
    // One request in five fails, one way or the other: far worse than a provider on a bad day, and low
    // enough that no request fails all 7 tries (0.2^7; at the 45 % this once used, a run of a few
    // hundred requests had one that did about once in three runs, now that sends are pipelined).
    const { rpc } = await proxy({ seed: 7, rates: { rateLimited: 0.1, dropped: 0.1, latencyMs: 10 } })
    const account = devAccounts(5)[4]!
    const market = createMarketClient({ rpcUrl: rpc.url, address: chain.deployment.market, account, pollingInterval: 20 })
    const nonceBefore = await chain.publicClient.getTransactionCount({ address: account.address })
    const stakedBefore = (await chain.clients[0]!.getAccount(account.address)).staked
    for (let i = 0; i < 8; i++) await market.stake({ value: parseEther('0.01') })
    // Every stake mined once: one nonce each, and exactly the stake sent.
    expect(await chain.publicClient.getTransactionCount({ address: account.address })).toBe(nonceBefore + 8)
    expect((await chain.clients[0]!.getAccount(account.address)).staked - stakedBefore).toBe(parseEther('0.08'))
    expect(rpc.counts.rateLimited).toBeGreaterThan(0)
    expect(rpc.counts.dropped).toBeGreaterThan(0)
  })

  it('retries a request the provider left unanswered', async () => {
    const { rpc, client } = await proxy({ seed: 3, rates: { timeout: 0.3 }, holdMs: 5000 })
    const head = await chain.publicClient.getBlockNumber()
    for (let i = 0; i < 10; i++) expect(await client.getBlockNumber({ cacheTime: 0 })).toBe(head)
    expect(rpc.counts.timeout).toBeGreaterThan(0)
  })
})
