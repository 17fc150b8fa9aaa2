// End to end on a real chain and a real network: jobs submitted to a market-mode gateway's REST API
// are taken by staked workers over libp2p (TCP), run in the sandbox, committed and revealed on
// anvil, and come back only once verified against the on-chain root. Honest, faulty, restarted and
// lying workers, and a restarted gateway (which keeps no job data across the restart).
import { readdir } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { resultEntries, resultRoot, chainJobId } from '../../verifier/index.ts'
import type { StatusResponse } from '../../node/gateway/schemas.ts'
import { startMarketNetwork, windowSeconds, type MarketNetwork, type TestGateway, type WorkerProcess } from './marketNetwork.ts'

const job = { 'main.py': 'import sys\nprint("hello from the market")\nsys.stderr.write("to stderr\\n")\nopen("out.txt", "w").write("42\\n")\n' }
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

/** Runs a scenario with its own workers and stops them afterwards, so later jobs see none of them. */
async function withWorkers<T>(gateway: TestGateway, specs: Array<{ name: string; fault?: string }>, body: (workers: WorkerProcess[]) => Promise<T>): Promise<T> {
  const workers = await Promise.all(specs.map((spec) => network.startWorker({ ...spec, gateway })))
  try {
    return await body(workers)
  } finally {
    // Killed rather than stopped: the scenario is over and nothing they hold is needed again.
    await Promise.all(workers.map((w) => w.stop('crash')))
  }
}

async function recomputedRoot(gateway: TestGateway, status: StatusResponse): Promise<string> {
  const logs = (await (await fetch(`${gateway.url}/logs/${status.job_id}?format=json`)).json()) as { stdout: string; stderr: string }
  const outputs = await Promise.all(
    Object.values(status.output_files).map(async (file) => {
      const content = Buffer.from(await (await fetch(`${gateway.url}/download/${status.job_id}/${file.path}`)).arrayBuffer())
      return { path: file.path, sha256: file.sha256_hash, sizeBytes: content.length }
    }),
  )
  const e = status.execution_metadata!
  return resultRoot(resultEntries({ exitCode: e.exit_code, termination: e.termination, stdout: Buffer.from(logs.stdout), stderr: Buffer.from(logs.stderr), outputs }))
}

// Each scenario starts several worker processes (a sandbox and a libp2p host each) and waits out the
// commit delay of every round: a minute is too tight on a loaded 2-core machine.
describe('market network end to end', { timeout: 180_000 }, () => {
  let gateway: TestGateway
  // Its commit window leaves room for workers started (or restarted) after the job was posted to
  // still be drawn and commit, however slow process start-up is on a loaded machine.
  let patient: TestGateway

  beforeAll(async () => {
    gateway = await network.startGateway()
    patient = await network.startGateway({ name: 'patient-gateway', backend: { commitWindowSeconds: 120 } })
  })

  it('three honest workers: the job completes with the root on chain, and all three are paid', async () => {
    await withWorkers(gateway, [{ name: 'honest-a' }, { name: 'honest-b' }, { name: 'honest-c' }], async (workers) => {
      const jobId = await gateway.submit(job, manifest)
      const status = await gateway.waitFinal(jobId)
      expect(status.status).toBe('completed')
      const v = status.verification!
      expect(v).toMatchObject({ state: 'finalized', result_verified: true, replicas: 3, quorum: 2, committed: 3, revealed: 3, dissenting: [], slashed: [] })
      expect(v.agreeing.sort()).toEqual(workers.map((w) => w.address).sort())
      const chainJob = await network.chain.getJob(chainJobId(v.job_id!))
      expect(chainJob.consensusRoot).toBe(v.result_root)
      expect(status.job_hash).toBe(v.result_root)
      const logs = await (await fetch(`${gateway.url}/logs/${jobId}?format=text`)).text()
      expect(logs).toContain('hello from the market')
      // The gateway's own /verify reads the chain, not its job table.
      const verified = (await (await fetch(`${gateway.url}/verify/${jobId}`)).json()) as { method: string; verified: boolean }
      expect(verified).toMatchObject({ method: 'chain', verified: true })
      // Downloading every output deletes the job (the retention rule), so this comes last for it.
      expect(await recomputedRoot(gateway, status)).toBe(chainJob.consensusRoot)
      const slots = await network.chain.getSlots(chainJobId(v.job_id!))
      expect(slots.map((s) => s.outcome)).toEqual(['Won', 'Won', 'Won'])
      const events = await network.chain.getJobEvents(chainJobId(v.job_id!))
      const finalized = events.find((e) => e.eventName === 'JobFinalized')!
      expect(finalized.args.payout as bigint).toBeGreaterThan(0n)
      expect(v.tx_hashes.post).toMatch(/^0x[0-9a-f]{64}$/)
      expect(v.tx_hashes.commits).toHaveLength(3)
      expect(v.tx_hashes.finalize).toBe(finalized.transactionHash)
      // Heartbeats arrive every few seconds: wait for all three to be listed.
      let pool: Array<{ address: string; stake_wei: string | null }> = []
      while (pool.length < 3) pool = ((await (await fetch(`${gateway.url}/pool`)).json()) as { workers: typeof pool }).workers
      expect(pool.map((w) => w.address).sort()).toEqual(workers.map((w) => w.address).sort())
      expect(pool.every((w) => BigInt(w.stake_wei ?? '0') > 0n)).toBe(true)
    })
  })

  it('one wrong-result worker of three: the job escalates, the honest root wins and the faulty worker is slashed', async () => {
    await withWorkers(gateway, [{ name: 'honest-a' }, { name: 'honest-b' }, { name: 'liar-1', fault: 'wrong-result' }], async ([, , liar]) => {
      const jobId = await gateway.submit(job, manifest)
      // Dissent draws a second committee; every running worker sat on the first: let its window run out.
      await gateway.waitChain(jobId, (v) => v.revealed === 3)
      await network.skipTime(windowSeconds + 1)
      const status = await gateway.waitFinal(jobId)
      expect(status.status).toBe('completed')
      const v = status.verification!
      expect(v.state).toBe('finalized')
      expect(v.agreeing).toHaveLength(2)
      expect(v.dissenting).toEqual([liar!.address])
      expect(v.slashed).toEqual([liar!.address])
      const logs = await (await fetch(`${gateway.url}/logs/${status.job_id}?format=text`)).text()
      expect(logs).toContain('hello from the market')
      expect(logs).not.toContain('sandrun fault')
      expect(await recomputedRoot(gateway, status)).toBe(v.result_root)
    })
  })

  it('two workers with different wrong results: no majority after the escalation, inconclusive, the requester is refunded', async () => {
    await withWorkers(gateway, [{ name: 'honest-a' }, { name: 'liar-1', fault: 'wrong-result' }, { name: 'liar-2', fault: 'wrong-result' }], async () => {
      const jobId = await gateway.submit(job, manifest)
      await gateway.waitChain(jobId, (v) => v.revealed === 3)
      await network.skipTime(windowSeconds + 1)
      const status = await gateway.waitFinal(jobId)
      expect(status.status).toBe('failed')
      expect(status.error).toMatch(/inconclusive/)
      expect(status.verification).toMatchObject({ state: 'inconclusive', result_verified: false, result_root: null, revealed: 3 })
      const events = await network.chain.getJobEvents(chainJobId(status.verification!.job_id!))
      const refund = events.find((e) => e.eventName === 'RequesterRefunded')
      expect(refund?.args.requester).toBe(gateway.address)
      expect(refund?.args.amount as bigint).toBeGreaterThan(0n)
    })
  })

  it('no-reveal and crash-after-commit workers are slashed; the job completes because the quorum holds', async () => {
    const specs = [{ name: 'honest-a' }, { name: 'honest-b' }, { name: 'honest-c' }, { name: 'silent', fault: 'no-reveal' }, { name: 'crasher', fault: 'crash-after-commit' }]
    await withWorkers(gateway, specs, async (workers) => {
      const jobId = await gateway.submit(job, { ...manifest, replicas: 5, quorum: 3 })
      await gateway.waitChain(jobId, (v) => v.committed === 5 && v.revealed === 3)
      // The crashing worker's process ended by itself right after its commit.
      await workers[4]!.exited
      // The two faulty workers will never reveal: let the reveal window run out on chain.
      await network.skipTime(2 * windowSeconds + 1)
      const status = await gateway.waitFinal(jobId)
      expect(status.status).toBe('completed')
      const v = status.verification!
      expect(v.agreeing.sort()).toEqual(workers.slice(0, 3).map((w) => w.address).sort())
      expect(v.slashed.sort()).toEqual(workers.slice(3).map((w) => w.address).sort())
      const slots = await network.chain.getSlots(chainJobId(v.job_id!))
      expect(slots.filter((s) => s.outcome === 'NotRevealed')).toHaveLength(2)
    })
  })

  it('a worker restarted between commit and reveal still reveals', async () => {
    const [first, second] = await Promise.all([network.startWorker({ name: 'restarter', gateway: patient }), network.startWorker({ name: 'honest-a', gateway: patient })])
    const jobId = await patient.submit(job, manifest)
    await patient.waitChain(jobId, (v) => v.committed === 2)
    await first.stop('crash')
    const restarted = await network.startWorker({ name: 'restarter', gateway: patient })
    // The third commit opens the reveal phase; the restarted worker must reveal from what it kept.
    const third = await network.startWorker({ name: 'honest-b', gateway: patient })
    try {
      const status = await patient.waitFinal(jobId)
      expect(status.status).toBe('completed')
      expect(status.verification!.agreeing).toContain(restarted.address)
      expect(status.verification!.slashed).toEqual([])
    } finally {
      await Promise.all([restarted, second, third].map((w) => w.stop('crash')))
    }
  })

  it('a lying worker serving a tampered result is caught, and the result comes from another', async () => {
    // In the test process: the lie is made in the worker's code, which no CLI flag offers.
    const liar = await network.startInProcessWorker({ name: 'tamperer', gateway: patient })
    const honest = liar.worker.getResult.bind(liar.worker)
    // Commits and reveals the honest root, but serves different bytes with matching entry sums.
    liar.worker.getResult = async (id) => {
      const result = await honest(id)
      if (!result) return result
      const forged = Buffer.from('forged output\n')
      const sha256 = `0x${(await import('node:crypto')).createHash('sha256').update(forged).digest('hex')}`
      return {
        entries: result.entries.map((e) => (e.name === 'stdout' ? { name: 'stdout', sha256, size: forged.length } : e)),
        files: result.files.map((f) => (f.name === 'stdout' ? { name: 'stdout', content: forged } : f)),
      }
    }
    const jobId = await patient.submit(job, manifest)
    await patient.waitChain(jobId, (v) => v.committed === 1)
    await withWorkers(patient, [{ name: 'honest-a' }, { name: 'honest-b' }], async () => {
      try {
        const status = await patient.waitFinal(jobId)
        expect(status.status).toBe('completed')
        expect(status.verification!.agreeing).toContain(liar.address.toLowerCase())
        const logs = await (await fetch(`${patient.url}/logs/${jobId}?format=text`)).text()
        expect(logs).toContain('hello from the market')
        expect(logs).not.toContain('forged')
        // Everything the gateway logged about the liar (a failed lookup or fetch shows here if it was skipped).
        const aboutLiar = patient.log.filter((entry) => entry.context.worker === liar.address.toLowerCase()).map((entry) => entry.message)
        expect(aboutLiar).toContain('worker served a result that does not match the chain')
      } finally {
        await liar.stop()
      }
    })
  })

  it('a gateway restarted mid-job has forgotten it (its data died with the process) and still sees it settle on chain', async () => {
    const before = await network.startGateway({ name: 'restarting-gateway', backend: { commitWindowSeconds: 120 } })
    const workers = await Promise.all(['honest-a', 'honest-b'].map((name) => network.startWorker({ name, gateway: before })))
    const jobId = await before.submit(job, manifest)
    await before.waitChain(jobId, (v) => v.committed === 2)
    const onChainId = chainJobId((await before.status(jobId)).verification!.job_id!)
    const [address] = before.host.multiaddrs()
    await before.close()
    const after = await network.startGateway({ name: 'restarting-gateway', listen: [address!.replace(/\/p2p\/.*$/, '')], backend: { commitWindowSeconds: 120 } })
    try {
      // The job's files were sealed under keys that died with the old process: removed, not served.
      const response = await fetch(`${after.url}/status/${jobId}`)
      expect(response.status).toBe(404)
      expect(await readdir(path.join(network.dir, 'restarting-gateway-data', 'jobs'))).toEqual([])
      // Its ledger still names the job: once the commit window closes, the two workers reveal and
      // finalize. To just past the deadline, not a window's length: drawn late, they committed late.
      await network.setTime(Number((await network.chain.getJob(onChainId)).commitDeadline) + 1)
      await expect.poll(() => after.log.some((entry) => entry.message === 'orphaned job settled' && entry.context.chainJobId === onChainId.toString()), { timeout: 60_000 }).toBe(true)
      expect((await network.chain.getJob(onChainId)).status).toBe('Finalized')
      expect(await readdir(path.join(network.dir, 'restarting-gateway-data', 'open-jobs'))).toEqual([])
    } finally {
      await Promise.all([...workers.map((w) => w.stop('crash')), after.close()])
    }
  })
})
