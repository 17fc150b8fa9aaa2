// The gateway posts no more jobs than the workers it hears can run (postAdmission.ts): with one
// worker that runs one job at a time, a second and a third job wait at the gateway, `queued` with
// their place in line and nothing on chain, and each goes on chain once the job before it has its
// commit (in a later block). All three complete; none expires on chain waiting for a run.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import type { GatewayJobId } from '../../verifier/index.ts'
import { startMarketNetwork, type MarketNetwork } from './marketNetwork.ts'

// Long enough that the three submissions meet the first one still running.
const job = { 'main.py': 'import time\ntime.sleep(2)\nprint("done")\n' }
const manifest = { entrypoint: 'main.py', replicas: 1, quorum: 1 }

let sandbox: Sandbox
let network: MarketNetwork

beforeAll(async () => {
  sandbox = await createSandbox()
  network = await startMarketNetwork({ sandbox })
})

afterAll(async () => {
  await network?.stop()
  await sandbox?.close()
})

describe('jobs wait at the gateway while the workers have no room', { timeout: 240_000 }, () => {
  it('with one place on the network, later jobs are queued in line off chain and posted as earlier ones are committed', async () => {
    const gateway = await network.startGateway()
    const worker = await network.startWorker({ name: 'one-place', gateway, args: ['--max-jobs', '1'] })
    // The gateway counts the places the workers announce in their heartbeats.
    await vi.waitFor(
      async () => {
        const pool = (await (await fetch(`${gateway.url}/pool`)).json()) as { workers: Array<{ address: string; capabilities: { max_jobs: number } }> }
        expect(pool.workers.find((w) => w.address === worker.address)?.capabilities.max_jobs).toBe(1)
      },
      { timeout: 120_000, interval: 250 },
    )

    const ids: GatewayJobId[] = []
    for (let i = 0; i < 3; i++) ids.push(await gateway.submit(job, manifest))
    const [first, second, third] = ids as [GatewayJobId, GatewayJobId, GatewayJobId]
    const statusOf = (id: GatewayJobId) => gateway.backend.status(id)
    expect(statusOf(first)).toMatchObject({ position: 0 })
    expect(statusOf(first).verification?.chainJobId).not.toBeNull()
    for (const [id, position] of [
      [second, 1],
      [third, 2],
    ] as const) {
      expect(statusOf(id)).toMatchObject({ status: 'queued', position, verification: { state: 'posting', chainJobId: null } })
    }
    // The REST status says so too (one place up if the first job got its commit meanwhile).
    const rest = (await (await fetch(`${gateway.url}/status/${third}`)).json()) as { status: string; position: number; verification: { state: string } }
    expect(rest).toMatchObject({ status: 'queued', verification: { state: 'posting' } })
    expect([1, 2]).toContain(rest.position)

    for (const id of ids)
      expect(await gateway.waitFinal(id)).toMatchObject({ status: 'completed', verification: { state: 'finalized', result_verified: true } })
    // Each went on chain only after the one before it had its commit, in a later block.
    const blockOf = async (hash: string) => (await network.chain.publicClient.getTransactionReceipt({ hash: hash as `0x${string}` })).blockNumber
    for (const [before, after] of [
      [first, second],
      [second, third],
    ] as const) {
      const commit = await blockOf(statusOf(before).verification!.txHashes.commits[0]!)
      expect(BigInt(statusOf(after).verification!.postBlock!)).toBeGreaterThan(commit)
    }
    await worker.stop('crash')
  })
})
