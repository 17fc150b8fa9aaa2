// The market on a chain that mines a block every 2 seconds (anvil interval mining, as on an OP Stack
// or Arbitrum chain) instead of one per transaction: receipts are waited for, not found at once,
// and a job still completes and verifies. `sandrun dev --block-time` starts such a chain.
import path from 'node:path'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { runSandrunCli } from '../runSandrunCli.ts'
import { startMarketNetwork, type MarketNetwork } from './marketNetwork.ts'
import { chainJobId } from '../../verifier/index.ts'

const job = { 'main.py': 'open("out.txt", "w").write("42\\n")\nprint("done")\n' }
const manifest = { entrypoint: 'main.py', outputs: ['out.txt'] }

let sandbox: Sandbox
let network: MarketNetwork

beforeAll(async () => {
  sandbox = await createSandbox()
  network = await startMarketNetwork({ sandbox, blockTime: 2 })
})

afterAll(async () => {
  await network?.stop()
  await sandbox?.close()
})

describe('2-second blocks', { timeout: 240_000 }, () => {
  it('three honest workers: the job completes, verified, with its steps in blocks mined 2 s apart', async () => {
    const gateway = await network.startGateway()
    const workers = await Promise.all(['block-a', 'block-b', 'block-c'].map((name) => network.startWorker({ name, gateway })))
    try {
      const jobId = await gateway.submit(job, manifest)
      const status = await gateway.waitFinal(jobId)
      expect(status.status).toBe('completed')
      expect(status.verification).toMatchObject({ state: 'finalized', result_verified: true, committed: 3, revealed: 3, slashed: [] })
      const events = await network.chain.getJobEvents(chainJobId(status.verification!.job_id!))
      const posted = events.find((e) => e.eventName === 'JobPosted')!
      const settled = events.find((e) => e.eventName === 'JobFinalized')!
      const [first, last] = await Promise.all([posted, settled].map((e) => network.chain.publicClient.getBlock({ blockNumber: e.blockNumber })))
      // Interval mining: the chain advanced by its clock, 2 s per block. Timestamps are whole
      // seconds, and anvil's timer catches up after a tick the loaded machine delayed (in CI once
      // 11 blocks spanned 21 s): a span 2 s short of that is still far from automining's.
      const blocks = Number(last!.number - first!.number)
      expect(blocks).toBeGreaterThanOrEqual(3)
      expect(Number(last!.timestamp - first!.timestamp)).toBeGreaterThanOrEqual(2 * blocks - 2)
      expect(BigInt(status.verification!.post_block!)).toBe(posted.blockNumber)
    } finally {
      await Promise.all(workers.map((w) => w.stop('crash')))
    }
  })

  it('sandrun dev refuses a block time that is not a number of seconds', async () => {
    const result = await runSandrunCli(['dev', '--block-time', 'fast', '--data-dir', path.join(tmpdir(), 'sandrun-block-time')], process.cwd())
    expect(result.code).not.toBe(0)
    expect(result.stderr).toContain('--block-time must be seconds between blocks')
  })
})
