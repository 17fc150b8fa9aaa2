// Market mode: a job's content never rests in clear on any node's disk, neither while it runs nor
// afterwards (the gateway and the workers seal it under keys held in memory), and retention removes
// it everywhere: the gateway deletes on download, 5 minutes after a failure and 1 hour at most;
// a worker deletes a settled result once its requester fetched it, or after the result window, and
// any result 1 hour after the run (it still reveals: that takes only the root it committed).
// Gateway and workers share a hand-moved clock; the whole network directory is scanned.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { WorkerNode } from '../../node/market/worker/startWorkerNode.ts'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { startMarketNetwork, windowSeconds, type MarketNetwork, type TestGateway } from '../market/marketNetwork.ts'
import { waitForPhase } from '../market/workerHarness.ts'
import { letRetentionPass } from './letRetentionPass.ts'
import { manualClock, type ManualClock } from './manualClock.ts'
import { markerJob } from './markerJob.ts'
import { scanFiles } from './scanFiles.ts'
import { type ChainJobId, chainJobId } from '../../verifier/index.ts'
import type { WorkerPhaseEvent } from '../../node/market/worker/createWorker.ts'

let sandbox: Sandbox
let network: MarketNetwork
let clock: ManualClock
let gateway: TestGateway
let workers: WorkerNode[]

beforeAll(async () => {
  sandbox = await createSandbox()
  network = await startMarketNetwork({ sandbox })
  clock = manualClock()
  gateway = await network.startGateway({ name: 'retention-gateway', clock })
  workers = []
  for (const name of ['retention-w1', 'retention-w2', 'retention-w3']) workers.push(await network.startInProcessWorker({ name, gateway, clock }))
})

afterAll(async () => {
  await network?.stop()
  await sandbox?.close()
})

/** Resolves once a worker's live log of the job shows the marker: the job is running and has printed it. */
function markerPrinted(marker: string): Promise<void> {
  return new Promise((resolve) => {
    for (const node of workers) {
      const onPhase = ({ jobId, phase }: WorkerPhaseEvent): void => {
        if (phase !== 'running') return
        node.worker.events.off('phase', onPhase)
        void (async () => {
          for await (const event of node.worker.openLogs(jobId, AbortSignal.timeout(60_000)) ?? []) {
            if (event.type === 'chunk' && Buffer.from(event.data).toString().includes(marker)) return resolve()
          }
        })()
      }
      node.worker.events.on('phase', onPhase)
    }
  })
}

/** Each job record a worker holds that has not reached its settlement yet. */
const unsettled = (): string[] => workers.flatMap((node) => node.worker.jobs().filter((record) => record.phase !== 'settled').map((record) => `${node.peerId}: ${record.jobId} ${record.phase}`))
const statusCode = async (jobId: string): Promise<number> => (await fetch(`${gateway.url}/status/${jobId}`)).status
const sealedFiles = (files: string[], prefix: string): string[] => files.filter((file) => file.startsWith(prefix))

describe('market mode retention', () => {
  it('never holds a job output in clear on any disk, while the job runs or after', async () => {
    const { privacy } = (await (await fetch(`${gateway.url}/`)).json()) as { privacy: string }
    expect(privacy).toMatch(/^Job data is kept by this gateway and by the staked workers that ran it in memory, or on disk only encrypted under keys held in their memory .* 10 minutes after the job settled on chain at most\. This is a public network: /)
    const job = markerJob({ sleepSeconds: 2 })
    const printed = markerPrinted(job.marker)
    const jobId = await gateway.submit(job.files, job.manifest)
    await printed
    let final = false
    const done = gateway.waitFinal(jobId).finally(() => (final = true))
    let scans = 0
    while (!final) {
      expect((await scanFiles([network.dir], job.marker)).containing).toEqual([])
      scans++
    }
    expect((await done).status).toBe('completed')
    expect(scans).toBeGreaterThan(0)
    expect(await (await fetch(`${gateway.url}/logs/${jobId}`)).text()).toContain(job.marker)
    // The gateway and the replicas hold the result, sealed: files exist, the marker is in none of them.
    const after = await scanFiles([network.dir], job.marker)
    expect(after.containing).toEqual([])
    expect(sealedFiles(after.files, 'retention-gateway-data/jobs/').length).toBeGreaterThan(0)
  })

  it('after retention no node holds anything of any job, in clear or sealed', async () => {
    const [downloaded, failed, kept] = [markerJob(), markerJob({ exitCode: 3 }), markerJob()]
    const ids = await Promise.all([downloaded, failed, kept].map((job) => gateway.submit(job.files, job.manifest)))
    const statuses = await Promise.all(ids.map((id) => gateway.waitFinal(id)))
    expect(statuses.map((s) => s.status)).toEqual(['completed', 'failed', 'completed'])
    // A worker's result window counts from when it saw the settlement, which can come after the
    // gateway's under load: the hand-moved clock starts once every worker holding a job saw it.
    await expect.poll(() => unsettled(), { timeout: 60_000 }).toEqual([])

    // Past the workers' result window too: the replicas the gateway did not fetch from let go of theirs.
    await letRetentionPass({
      clock,
      statusCode,
      download: async (jobId) => (await fetch(`${gateway.url}/download/${jobId}/out.txt`)).text(),
      downloaded: { jobId: ids[0]!, marker: downloaded.marker },
      failed: ids[1]!,
      kept: ids[2]!,
    })
    await expect.poll(() => workers.flatMap((node) => node.worker.jobs().map((record) => `${node.peerId}: ${record.jobId} ${record.phase}`)), { timeout: 30_000 }).toEqual([])

    // A worker forgets a job at once and deletes its files right after: wait for the files.
    const leftFiles = async () => sealedFiles((await scanFiles([network.dir])).files, '').filter((file) => /-data\/(jobs|sealed|open-jobs)\//.test(file))
    await expect.poll(leftFiles, { timeout: 30_000 }).toEqual([])
    const scan = await scanFiles([network.dir])
    for (const node of ['retention-gateway', 'retention-w1', 'retention-w2', 'retention-w3']) {
      expect(sealedFiles(scan.files, `${node}-data/jobs/`)).toEqual([])
      expect(sealedFiles(scan.files, `${node}-data/sealed/`)).toEqual([])
    }
    expect(sealedFiles(scan.files, 'retention-gateway-data/open-jobs/')).toEqual([])
    for (const job of [downloaded, failed, kept]) expect((await scanFiles([network.dir], job.marker)).containing).toEqual([])
  })

  it('a result not settled within 1 hour is deleted by its workers, which still reveal from the root they kept', async () => {
    // Five replicas and three workers: the job stays open until its commit window closes on chain.
    const job = markerJob()
    const jobId = await gateway.submit(job.files, { ...job.manifest, replicas: 5, quorum: 3 })
    await gateway.waitChain(jobId, (v) => v.committed === 3)
    const onChainId = chainJobId((await gateway.status(jobId)).verification!.job_id!)
    const removed = workers.map((node) => waitForRemoval(node, onChainId))
    await clock.advance(60 * 60_000 + 1)
    expect(await Promise.all(removed)).toEqual(['retention maximum', 'retention maximum', 'retention maximum'])
    const scan = await scanFiles([network.dir], job.marker)
    expect(scan.containing).toEqual([])
    for (const node of ['retention-w1', 'retention-w2', 'retention-w3']) expect(sealedFiles(scan.files, `${node}-data/sealed/`)).toEqual([])

    await network.skipTime(windowSeconds + 1)
    await Promise.all(workers.map((node) => waitForPhase(node.worker, onChainId, 'settled')))
    const chainJob = await network.chain.getJob(onChainId)
    expect(chainJob).toMatchObject({ status: 'Finalized', totalRevealed: 3 })
  })
})

function waitForRemoval(node: WorkerNode, jobId: ChainJobId): Promise<string> {
  return new Promise((resolve) => {
    const onRemoved = (event: { jobId: ChainJobId; reason: string }): void => {
      if (event.jobId !== jobId) return
      node.worker.events.off('removed', onRemoved)
      resolve(event.reason)
    }
    node.worker.events.on('removed', onRemoved)
  })
}
