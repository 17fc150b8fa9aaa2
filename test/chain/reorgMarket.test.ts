// Reorgs while a job is in post, commit, reveal and finalize (anvil_reorg / anvil_rollback, 1-3
// blocks, never below the post block, whose hash seeds the committee): the gateway and the workers
// send again what each reorg dropped, the job completes only once its settlement is 2 blocks deep,
// with each worker's commit and reveal on the final chain once, and `sandrun verify` shows the depth.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { runSandrunCli } from '../runSandrunCli.ts'
import { startMarketNetwork, type MarketNetwork, type TestGateway } from '../market/marketNetwork.ts'
import type { ChainJobId, GatewayJobId } from '../../verifier/index.ts'

const job = { 'main.py': 'open("out.txt", "w").write("42\\n")\nprint("done")\n' }
const manifest = { entrypoint: 'main.py', outputs: ['out.txt'] }

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

const rpc = (method: string, params: unknown[]): Promise<void> => network.rpc(method, params)

/** Replaces the last `depth` blocks (at most down to the block after the post), returns the depth used. */
async function reorg(chainJobId: ChainJobId, depth: number, how: 'anvil_reorg' | 'anvil_rollback'): Promise<number> {
  const [head, posted] = await Promise.all([network.chain.publicClient.getBlockNumber({ cacheTime: 0 }), network.chain.getJob(chainJobId)])
  const used = Math.min(depth, Number(head - posted.seedBlock))
  if (used > 0) await rpc(how, how === 'anvil_reorg' ? [used, []] : [used])
  return used
}

type Verification = { committed: number; revealed: number; confirmations?: number | null }
const waitFor = (gateway: TestGateway, jobId: GatewayJobId, done: (v: Verification) => boolean) => gateway.waitChain(jobId, (v) => done(v as Verification))

describe('reorgs of 1-3 blocks in every phase of a job', { timeout: 240_000 }, () => {
  it('nothing a reorg dropped is lost: the job completes, 2 blocks deep, each worker committed and revealed once', async () => {
    const gateway = await network.startGateway({
      // 0.01 ETH a replica: the workers' ask (commit and reveal gas) stays below it through the fee spike.
      backend: { confirmations: 2, rewardWei: 10n ** 16n },
    })
    const lines: string[] = []
    // One worker asks for a profit: 1 gwei over its gas, well below the reward.
    const workers = await Promise.all(
      ['reorg-a', 'reorg-b', 'reorg-c'].map((name, i) => network.startWorker({ name, gateway, onLog: (line) => lines.push(line), args: i === 0 ? ['--min-profit-wei', '1000000000'] : [] })),
    )
    // A stalled run says where it stood: the phases reached and what the nodes logged last.
    const phases: string[] = []
    let cleanupWatch = (): void => undefined
    const stall = setTimeout(() => {
      const recent = lines.filter((line) => !line.includes('job skipped')).slice(-30)
      console.error(`reorg test stalled after ${JSON.stringify(phases)}\n${recent.join('\n')}\n${JSON.stringify(gateway.log.slice(-10))}`)
    }, 200_000)
    try {
      const jobId = await gateway.submit(job, manifest)
      // Post: the block that holds it is replaced by an empty one.
      const chainJobId = await new Promise<ChainJobId>((resolve) => {
        const watch = gateway.backend.watch(jobId, (event) => {
          if (event.type === 'status' && event.status.verification?.chainJobId != null) resolve(event.status.verification.chainJobId)
        })
        if (watch.status.verification?.chainJobId != null) resolve(watch.status.verification.chainJobId)
      })
      const seen: Array<{ status: string; confirmations: number | null }> = []
      const watch = gateway.backend.watch(jobId, (event) => {
        if (event.type === 'status') seen.push({ status: event.status.status, confirmations: event.status.verification?.confirmations ?? null })
      })
      cleanupWatch = () => watch.unsubscribe()
      await rpc('anvil_reorg', [1, []])
      phases.push('post')
      await waitFor(gateway, jobId, (v) => v.committed >= 1)
      // With a base-fee spike in the first new block: what the workers send again is priced out and replaced.
      await rpc('anvil_setNextBlockBaseFeePerGas', [`0x${(20n * 10n ** 9n).toString(16)}`])
      const reorgs = [await reorg(chainJobId, 2, 'anvil_reorg')]
      phases.push('commit')
      await waitFor(gateway, jobId, (v) => v.revealed >= 1)
      reorgs.push(await reorg(chainJobId, 3, 'anvil_rollback'))
      phases.push('reveal')
      // Finalize: settled on chain, 1 block deep, then reorganised away and settled again.
      await waitFor(gateway, jobId, (v) => (v.confirmations ?? 0) >= 1)
      reorgs.push(await reorg(chainJobId, 1, 'anvil_reorg'))
      phases.push('finalize')
      // From here the test mines: a block each half second, until the settlement is deep enough.
      const miner = setInterval(() => void rpc('anvil_mine', ['0x1']).catch(() => undefined), 500)
      const status = await gateway.waitFinal(jobId).finally(() => clearInterval(miner))
      expect(reorgs.every((depth) => depth >= 1)).toBe(true)
      expect(status.status).toBe('completed')
      expect(status.verification).toMatchObject({ state: 'finalized', result_verified: true, committed: 3, revealed: 3, slashed: [], confirmations_required: 2 })
      expect(status.verification!.confirmations).toBeGreaterThanOrEqual(2)
      // The gateway showed the settlement 1 block deep and did not call the job completed then.
      expect(seen.some((s) => s.confirmations === 1 && s.status !== 'completed')).toBe(true)
      expect(seen.filter((s) => s.status === 'completed' && (s.confirmations ?? 0) < 2)).toEqual([])
      // On the final chain, every worker's commit and reveal once.
      const events = await network.chain.getJobEvents(chainJobId)
      for (const worker of workers) {
        for (const name of ['SlotCommitted', 'SlotRevealed']) {
          expect(events.filter((e) => e.eventName === name && String(e.args.worker).toLowerCase() === worker.address)).toHaveLength(1)
        }
      }
      expect(events.filter((e) => e.eventName === 'JobPosted')).toHaveLength(1)
      // The gateway resent its post, and workers what they had lost.
      expect(gateway.log.some((entry) => entry.message === 'transaction resent' && entry.context.label === 'postJob')).toBe(true)
      expect(lines.some((line) => /transaction resent|missing on chain after a reorg/.test(line))).toBe(true)
      expect(lines.some((line) => line.includes('"message":"transaction replaced"') && line.includes('base fee above its max fee'))).toBe(true)
      // GET /pool: what each worker asks per replica, at the fee it last saw.
      const pool = (await (await fetch(`${gateway.url}/pool`)).json()) as { workers: Array<{ address: string; ask: { min_profit_wei: string; min_reward_wei: string | null } | null }> }
      const asks = new Map(pool.workers.map((w) => [w.address, w.ask]))
      expect(asks.get(workers[0]!.address)?.min_profit_wei).toBe('1000000000')
      expect(asks.get(workers[1]!.address)?.min_profit_wei).toBe('0')
      for (const worker of workers) expect(BigInt(asks.get(worker.address)?.min_reward_wei ?? '0')).toBeGreaterThan(BigInt(asks.get(worker.address)!.min_profit_wei))
      const verified = await runSandrunCli(['verify', chainJobId.toString(), '--rpc', network.anvil.rpcUrl, '--deployment', network.deploymentFile], process.cwd())
      expect(verified.stdout).toMatch(/finalized\s+tx 0x[0-9a-f]{64} \(block \d+, [2-9] confirmations\)/)
      expect(verified.stdout).toContain('VERIFIED')
    } finally {
      clearTimeout(stall)
      cleanupWatch()
      await Promise.all(workers.map((w) => w.stop('crash')))
    }
  })
})
