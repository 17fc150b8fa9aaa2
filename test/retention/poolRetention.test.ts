// Pool mode: the gateway keeps job data in its memory and the worker keeps outputs on tmpfs only
// until sent, so no disk holds a job's output while it runs or after; retention (a hand-moved
// clock) deletes on download, 5 minutes after a failure and 1 hour at most, after which neither
// the gateway's data dir nor the worker's scratch dir holds anything of any job.
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createPoolGateway, type CreatePoolGatewayReturnType } from '../../node/gateway/createPoolGateway.ts'
import { resolveGatewayOptions } from '../../node/gateway/config.ts'
import { startPoolWorker, type PoolWorkerNode } from '../../node/pool/startPoolWorker.ts'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { generateWorkerKey, saveWorkerKey } from '../../verifier/index.ts'
import { jobSubmission } from '../gateway/testGateway.ts'
import { letRetentionPass } from './letRetentionPass.ts'
import { manualClock, type ManualClock } from './manualClock.ts'
import { markerJob, type MarkerJob } from './markerJob.ts'
import { scanFiles } from './scanFiles.ts'

const tmpfsMagic = 0x01021994

let dir: string
let shm: string
let sandbox: Sandbox
let clock: ManualClock
let server: CreatePoolGatewayReturnType
let url: string
let worker: PoolWorkerNode

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sandrun-pool-retention-'))
  shm = await mkdtemp('/dev/shm/sandrun-pool-retention-')
  sandbox = await createSandbox()
  clock = manualClock()
  const key = generateWorkerKey()
  await saveWorkerKey(path.join(dir, 'worker.json'), key)
  await writeFile(path.join(dir, 'workers.json'), JSON.stringify([{ worker_id: key.workerId, max_concurrent_jobs: 2 }]))
  server = await createPoolGateway({
    gateway: resolveGatewayOptions({ port: 0, rateLimits: { concurrentJobs: 50, jobsPerHour: 10_000, cpuSecondsPerMinute: 1000 } }),
    pool: { workersFile: path.join(dir, 'workers.json'), dataDir: path.join(dir, 'gateway-data'), listen: ['/ip4/127.0.0.1/tcp/0'], registry: { healthIntervalMs: 200 } },
    clock,
  })
  url = await server.app.listen({ port: 0, host: '127.0.0.1' })
  worker = await startPoolWorker({ keyFile: path.join(dir, 'worker.json'), bootstrap: server.host.multiaddrs(), sandbox, scratchDir: path.join(shm, 'scratch') })
  const { registry } = server
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (registry.members().some((m) => registry.isHealthy(m))) resolve()
    }
    registry.onChange(check)
    check()
  })
})

afterAll(async () => {
  await worker?.stop()
  await server?.close()
  await sandbox?.close()
  await rm(dir, { recursive: true, force: true })
  await rm(shm, { recursive: true, force: true })
})

async function submit(job: MarkerJob): Promise<string> {
  const { body, contentType } = await jobSubmission(job.files, job.manifest)
  const response = await fetch(`${url}/submit`, { method: 'POST', headers: { 'content-type': contentType }, body })
  const answer = (await response.json()) as { job_id: string }
  expect(response.status).toBe(200)
  return answer.job_id
}
const status = async (jobId: string): Promise<{ status: string }> => (await (await fetch(`${url}/status/${jobId}?wait=60`)).json()) as { status: string }
const statusCode = async (jobId: string): Promise<number> => (await fetch(`${url}/status/${jobId}`)).status

describe('pool mode retention', () => {
  it('never holds a job output in clear on disk while it runs or after; outputs wait on tmpfs', async () => {
    expect((await statfs(path.join(shm, 'scratch'))).type).toBe(tmpfsMagic)
    const { privacy } = (await (await fetch(`${url}/`)).json()) as { privacy: string }
    expect(privacy).toMatch(/^Job data lives in RAM on this gateway \(its memory\) and on the pool worker that ran it \(output files on tmpfs until they are sent back, nothing afterwards\), never on a disk\./)
    const job = markerJob({ sleepSeconds: 2 })
    const jobId = await submit(job)
    // The gateway relays the worker's output live: once the marker shows, the job is running.
    await expect.poll(async () => (await (await fetch(`${url}/logs/${jobId}`)).text()).includes(job.marker), { timeout: 30_000 }).toBe(true)
    let final = false
    const done = status(jobId).finally(() => (final = true))
    let scans = 0
    while (!final) {
      expect((await scanFiles([dir], job.marker)).containing).toEqual([])
      scans++
    }
    expect((await done).status).toBe('completed')
    expect(scans).toBeGreaterThan(0)
    expect((await scanFiles([dir], job.marker)).containing).toEqual([])
  })

  it('after retention neither the gateway nor the worker holds anything of any job', async () => {
    const [downloaded, failed, kept] = [markerJob(), markerJob({ exitCode: 3 }), markerJob()]
    const ids = await Promise.all([downloaded, failed, kept].map(submit))
    expect((await Promise.all(ids.map(status))).map((s) => s.status)).toEqual(['completed', 'failed', 'completed'])
    await letRetentionPass({
      clock,
      statusCode,
      download: async (jobId) => (await fetch(`${url}/download/${jobId}/out.txt`)).text(),
      downloaded: { jobId: ids[0]!, marker: downloaded.marker },
      failed: ids[1]!,
      kept: ids[2]!,
    })

    const scan = await scanFiles([dir, shm])
    expect(scan.files).toEqual(['0:gateway-data/worker-key.json', '0:worker.json', '0:workers.json'])
    for (const job of [downloaded, failed, kept]) expect((await scanFiles([dir, shm], job.marker)).containing).toEqual([])
  })
})
