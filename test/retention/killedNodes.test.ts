// kill -9 of real gateway and worker processes, then a restart with the same data: what the dead
// process left is either sealed under keys that died with it (market gateway and worker: unreadable,
// then removed at start-up) or in RAM (tmpfs: local data dir, pool scratch dir; emptied at start-up).
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnNode, type SpawnedNode } from '../../node/dev/spawnNode.ts'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { jobSubmission } from '../gateway/testGateway.ts'
import { startMarketNetwork, type MarketNetwork } from '../market/marketNetwork.ts'
import { markerJob, type MarkerJob } from './markerJob.ts'
import { scanFiles } from './scanFiles.ts'
import { sandrunBin } from '../runSandrunCli.ts'

async function submit(url: string, job: MarkerJob): Promise<string> {
  const { body, contentType } = await jobSubmission(job.files, job.manifest)
  const response = await fetch(`${url}/submit`, { method: 'POST', headers: { 'content-type': contentType }, body })
  const answer = (await response.json()) as { job_id?: string }
  if (response.status !== 200 || !answer.job_id) throw new Error(`POST /submit answered ${response.status}: ${JSON.stringify(answer)}`)
  return answer.job_id
}

type Status = { status: string; verification?: { job_id: string | null } }

async function waitFinal(url: string, jobId: string): Promise<Status> {
  for (;;) {
    const status = (await (await fetch(`${url}/status/${jobId}?wait=30`)).json()) as Status
    if (status.status === 'completed' || status.status === 'failed') return status
  }
}

const under = (files: string[], prefix: string): string[] => files.filter((file) => file.startsWith(prefix))

describe('market: kill -9 of a gateway and a worker', () => {
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

  it('leaves only sealed files whose keys died with the process, and a restart removes them', async () => {
    const gateway = await network.startGatewayProcess({ name: 'killed-gateway' })
    const names = ['killed-w1', 'killed-w2', 'killed-w3']
    const workers = await Promise.all(names.map((name) => network.startWorker({ name, gateway })))
    const job = markerJob()
    const jobId = await submit(gateway.url, job)
    const final = await waitFinal(gateway.url, jobId)
    expect(final.status).toBe('completed')
    const chainJobId = final.verification!.job_id!

    // The replica the gateway fetched from lets go of the job; the two others keep their sealed
    // result, with a settled record, for the result window.
    const phases = async (): Promise<Array<string | null>> =>
      Promise.all(
        names.map(async (name) =>
          readFile(path.join(network.dir, `${name}-data`, 'jobs', chainJobId, 'job.json'), 'utf8').then(
            (text) => (JSON.parse(text) as { phase: string }).phase,
            () => null,
          ),
        ),
      )
    await expect.poll(async () => (await phases()).map(String).sort(), { timeout: 30_000 }).toEqual(['null', 'settled', 'settled'])
    const holder = (await phases()).indexOf('settled')
    const before = await scanFiles([network.dir], job.marker)
    expect(before.containing).toEqual([])
    expect(under(before.files, 'killed-gateway-data/jobs/').length).toBeGreaterThan(0)
    expect(under(before.files, `${names[holder]}-data/sealed/`).length).toBeGreaterThan(0)

    await Promise.all([gateway.stop('crash'), workers[holder]!.stop('crash')])
    const left = await scanFiles([network.dir], job.marker)
    expect(left.containing).toEqual([])
    expect(under(left.files, 'killed-gateway-data/jobs/').length).toBeGreaterThan(0)
    expect(under(left.files, `${names[holder]}-data/sealed/`).length).toBeGreaterThan(0)

    const restarted = await network.startGatewayProcess({ name: 'killed-gateway' })
    await network.startWorker({ name: names[holder]!, gateway: restarted })
    const after = await scanFiles([network.dir])
    expect(under(after.files, 'killed-gateway-data/jobs/')).toEqual([])
    expect(under(after.files, `${names[holder]}-data/sealed/`)).toEqual([])
    // The job settled before the crash: its commitment record is not needed and went too.
    expect(under(after.files, `${names[holder]}-data/jobs/`)).toEqual([])
    expect((await fetch(`${restarted.url}/status/${jobId}`)).status).toBe(404)
  }, 180_000)
})

describe('local and pool: kill -9 with job data in RAM', () => {
  let shm: string
  const nodes: SpawnedNode[] = []
  beforeAll(async () => {
    shm = await mkdtemp('/dev/shm/sandrun-killed-')
  })
  afterAll(async () => {
    await Promise.all(nodes.map((node) => node.stop(2000)))
    await rm(shm, { recursive: true, force: true })
  })

  it("a local gateway restarted after kill -9 empties its tmpfs data dir of the dead run's jobs", async () => {
    const dataDir = path.join(shm, 'local-data')
    const args = ['--mode', 'local', '--port', '0', '--data-dir', dataDir, '--concurrent-jobs', '10', '--cpu-seconds-per-minute', '1000']
    const first = await spawnNode({ cli: sandrunBin, command: 'gateway', args })
    nodes.push(first)
    const job = markerJob()
    const jobId = await submit(first.ready.url!, job)
    expect((await waitFinal(first.ready.url!, jobId)).status).toBe('completed')
    // Kept (not downloaded): the output's copy is in the data dir, which is RAM.
    expect((await scanFiles([dataDir], job.marker)).containing).toHaveLength(1)
    first.child.kill('SIGKILL')
    await first.exited

    const second = await spawnNode({ cli: sandrunBin, command: 'gateway', args })
    nodes.push(second)
    expect((await scanFiles([dataDir])).files).toEqual(['worker-key.json'])
    expect((await fetch(`${second.ready.url}/status/${jobId}`)).status).toBe(404)
  }, 120_000)
})
