// The pending block and tip reads a process shares (chainHead.ts), on a real anvil: callers within
// their allowed age share one read, a caller that needs the chain as it is now gets its own, the tip
// is read once per head, and a failed read is not handed to the next caller.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPublicClient, custom, http, type PublicClient } from 'viem'
import { startAnvil, type StartAnvilReturnType } from './anvil.ts'
import { chainHead } from './chainHead.ts'

let anvil: StartAnvilReturnType
const methods: string[] = []
let failNext = 0
let publicClient: PublicClient

beforeAll(async () => {
  anvil = await startAnvil()
  const upstream = http(anvil.rpcUrl)({ retryCount: 0 })
  // The real node behind a counter that can fail a read, as a flaky provider does.
  publicClient = createPublicClient({
    transport: custom({
      async request({ method, params }) {
        methods.push(method)
        if (failNext > 0) {
          failNext--
          throw new Error('provider unavailable')
        }
        return upstream.request({ method, params })
      },
    }, { retryCount: 0 }),
  })
})
afterAll(async () => {
  await anvil?.stop()
})

const mine = () => fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'evm_mine', params: [] }) })
const reads = (method: string) => methods.filter((m) => m === method).length

describe('chainHead', () => {
  it('callers within their allowed age share one read; a caller that needs now reads again', async () => {
    const head = chainHead(publicClient)
    const before = reads('eth_getBlockByNumber')
    const [a, b, c] = await Promise.all([head.pending(60_000), head.pending(60_000), head.pending(60_000)])
    expect(reads('eth_getBlockByNumber') - before).toBe(1)
    expect(b).toBe(a)
    expect(c).toBe(a)
    await mine()
    const now = await head.pending()
    expect(reads('eth_getBlockByNumber') - before).toBe(2)
    expect(now.number).toBe(a.number + 1n)
    expect(now.head).not.toBe(a.head)
    // The fresh read is what the next patient caller gets.
    expect(await head.pending(60_000)).toBe(now)
  })

  it('reads the tip once per head', async () => {
    const head = chainHead(publicClient)
    const before = reads('eth_maxPriorityFeePerGas')
    const block = await head.pending()
    await Promise.all([head.tip(block.head), head.tip(block.head)])
    expect(reads('eth_maxPriorityFeePerGas') - before).toBe(1)
    await mine()
    await head.tip((await head.pending()).head)
    expect(reads('eth_maxPriorityFeePerGas') - before).toBe(2)
  })

  it('does not hand a failed read to the next caller', async () => {
    const head = chainHead(publicClient)
    failNext = 1
    await expect(head.pending(60_000)).rejects.toThrow(/provider unavailable/)
    const block = await head.pending(60_000)
    expect(block.number).toBeGreaterThan(0n)
    // viem falls back to the gas price when the tip read fails: fail that too.
    failNext = 5
    expect(await head.tip(block.head)).toBe(0n)
    failNext = 0
    const before = reads('eth_maxPriorityFeePerGas')
    expect(await head.tip(block.head)).toBeGreaterThanOrEqual(0n)
    expect(reads('eth_maxPriorityFeePerGas') - before).toBe(1)
  })
})
