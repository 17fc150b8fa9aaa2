// A job on a chain past a million blocks, verified by `sandrun verify` through a provider that
// refuses eth_getLogs over 1,000 blocks: the events are read around the job's seed block in a few
// pages, never from the chain's start (which the provider would refuse).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from 'viem'
import { runSandrunCli } from '../runSandrunCli.ts'
import { startChainFixture, type ChainFixture } from '../verify/chainFixture.ts'
import { startFaultyRpc, type FaultyRpc } from './faultyRpc.ts'

let chain: ChainFixture
let rpc: FaultyRpc

beforeAll(async () => {
  chain = await startChainFixture({ genesisBlockNumber: 1_000_000 })
  rpc = await startFaultyRpc({ target: chain.anvil.rpcUrl, seed: 5 })
})
afterAll(async () => {
  await rpc?.close()
  await chain?.stop()
})

describe('a long chain', () => {
  it('sandrun verify finds a job past block 1,000,000 in a few log pages, even with no deploy block to start from', async () => {
    const root: Hex = `0x${'ab'.repeat(32)}`
    const job = await chain.settleJob({ roots: [root, root, root] })
    expect(await chain.publicClient.getBlockNumber()).toBeGreaterThan(1_000_000n)
    // --market, not --deployment: the deploy block is unknown and a scan would start at block 0.
    const result = await runSandrunCli(['verify', job.jobId.toString(), '--rpc', rpc.url, '--market', chain.deployment.market], process.cwd())
    expect(result.stdout).toContain(`consensus root  ${root}`)
    expect(result.stdout).toContain('VERIFIED (chain)')
    expect(rpc.counts.logRangeRefused).toBe(0)
    expect(rpc.methods.get('eth_getLogs')).toBeLessThanOrEqual(3)
  })
})
