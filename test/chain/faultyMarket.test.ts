// A market end to end with every node (gateway, workers, `sandrun verify`) reaching anvil through a
// provider-like RPC (faultyRpc.ts) at realistic fault rates: 429s, timeouts, dropped connections,
// latency and eth_getLogs refused above 1,000 blocks. A job with a lying worker still escalates,
// settles on the honest root, slashes the liar and is verified; no transaction is sent twice.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { runSandrunCli } from '../runSandrunCli.ts'
import { startMarketNetwork, windowSeconds, type MarketNetwork } from '../market/marketNetwork.ts'
import { realisticFaultRates, startFaultyRpc, type FaultyRpc } from './faultyRpc.ts'
import { chainJobId } from '../../verifier/index.ts'

const job = { 'main.py': 'open("out.txt", "w").write("42\\n")\nprint("done")\n' }
const manifest = { entrypoint: 'main.py', outputs: ['out.txt'] }

let sandbox: Sandbox
let network: MarketNetwork
let rpc: FaultyRpc

beforeAll(async () => {
  sandbox = await createSandbox()
  network = await startMarketNetwork({ sandbox })
  // A timed-out request is held past the nodes' 10 s request timeout, as a stuck provider would.
  // Drops at 3 %: the workers read the chain far less since session 26, and at 1 % a run could see none.
  rpc = await startFaultyRpc({ target: network.anvil.rpcUrl, seed: 15, rates: { ...realisticFaultRates, dropped: 0.03 }, holdMs: 12_000 })
})

afterAll(async () => {
  await rpc?.close()
  await network?.stop()
  await sandbox?.close()
})

describe('a market behind a flaky RPC provider', { timeout: 240_000 }, () => {
  it('a job with a lying worker settles on the honest root and is verified, with nothing sent twice', async () => {
    const gateway = await network.startGateway({ rpcUrl: rpc.url })
    const specs = [{ name: 'honest-a' }, { name: 'honest-b' }, { name: 'liar', fault: 'wrong-result' }]
    const workers = await Promise.all(specs.map((spec) => network.startWorker({ ...spec, gateway, rpcUrl: rpc.url })))
    try {
      const jobId = await gateway.submit(job, manifest)
      await gateway.waitChain(jobId, (v) => v.revealed === 3)
      // Dissent drew an escalation committee from workers that all sat on the first: let it lapse.
      await network.skipTime(windowSeconds + 1)
      const status = await gateway.waitFinal(jobId)
      expect(status.status).toBe('completed')
      const v = status.verification!
      expect(v).toMatchObject({ state: 'finalized', result_verified: true, committed: 3, revealed: 3 })
      expect(v.slashed).toEqual([workers[2]!.address])
      expect(v.agreeing.sort()).toEqual([workers[0]!.address, workers[1]!.address].sort())
      expect(BigInt(v.post_block!)).toBeGreaterThan(0n)

      // One commit and one reveal per worker: no transaction of theirs went out twice.
      const events = await network.chain.getJobEvents(chainJobId(v.job_id!))
      for (const name of ['SlotCommitted', 'SlotRevealed']) {
        const senders = events.filter((e) => e.eventName === name).map((e) => String(e.args.worker).toLowerCase())
        expect(senders.sort()).toEqual(workers.map((w) => w.address).sort())
      }

      const verified = await runSandrunCli(['verify', v.job_id!, '--rpc', rpc.url, '--deployment', network.deploymentFile], process.cwd())
      expect(verified.stdout).toContain('VERIFIED (chain)')
      expect(verified.code).toBe(0)
      // The faults really happened, and every one was absorbed.
      expect(rpc.counts.rateLimited).toBeGreaterThan(0)
      expect(rpc.counts.dropped).toBeGreaterThan(0)
    } finally {
      await Promise.all(workers.map((w) => w.stop('crash')))
    }
  })
})
