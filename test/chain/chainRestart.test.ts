// The chain node going away: anvil stopped for 30 s while a job's workers hold commits, then started
// again from its `--state` file on the same port. Gateway and workers keep retrying, no process
// exits, and the job completes, verified, with every worker paid once.
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { startAnvil, type StartAnvilReturnType } from '../../node/chain/anvil.ts'
import { startMarketNetwork, type MarketNetwork } from '../market/marketNetwork.ts'

const job = { 'main.py': 'open("out.txt", "w").write("42\\n")\nprint("done")\n' }
const manifest = { entrypoint: 'main.py', outputs: ['out.txt'] }
const outageMs = 30_000

let sandbox: Sandbox
let network: MarketNetwork
let statePath: string
let restarted: StartAnvilReturnType | null = null

beforeAll(async () => {
  sandbox = await createSandbox()
  statePath = path.join(await mkdtemp(path.join(tmpdir(), 'sandrun-anvil-state-')), 'state.json')
  network = await startMarketNetwork({ sandbox, statePath })
})

afterAll(async () => {
  await restarted?.stop()
  await network?.stop()
  await sandbox?.close()
})

describe('the chain node going away', { timeout: 300_000 }, () => {
  it('anvil down for 30 s and back with its state: nobody exits and the job completes', async () => {
    const gateway = await network.startGateway()
    const workers = await Promise.all(['outage-a', 'outage-b', 'outage-c'].map((name) => network.startWorker({ name, gateway })))
    let exits = 0
    for (const worker of workers) void worker.exited.then(() => exits++)
    try {
      const jobId = await gateway.submit(job, manifest)
      await gateway.waitChain(jobId, (v) => v.committed === 3)
      await network.anvil.stop()
      // The outage is the scenario itself: the nodes see refused connections for its whole length.
      await new Promise((resolve) => setTimeout(resolve, outageMs))
      restarted = await startAnvil({ port: network.anvil.port, statePath })
      const status = await gateway.waitFinal(jobId)
      expect(status.status).toBe('completed')
      expect(status.verification).toMatchObject({ state: 'finalized', result_verified: true, committed: 3, revealed: 3, slashed: [] })
      expect(status.verification!.agreeing.sort()).toEqual(workers.map((w) => w.address).sort())
      expect(exits).toBe(0)
    } finally {
      await Promise.all(workers.map((w) => w.stop('crash')))
    }
  })
})
