// Pool mode with real processes: a `sandrun gateway --mode pool` with a workers.json allowlist and
// `sandrun worker --mode pool` processes that bootstrap to it. Jobs spread over the workers, a job
// whose worker is SIGKILLed mid-run completes elsewhere, and peers outside the allowlist (a stranger,
// and an impostor holding another key behind an allowlisted worker_id's endpoint) get nothing.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnNode, type SpawnedNode } from '../../node/dev/spawnNode.ts'
import { jobRef } from '../../node/backends/pool/poolStatusRoute.ts'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { gatewayJobId, type GatewayJobId, generateWorkerKey, saveWorkerKey, verifyWorkerSignature, type WorkerKey } from '../../verifier/index.ts'
import { sandrunBin } from '../runSandrunCli.ts'

type PoolView = {
  workers: Array<{
    worker_id: string
    healthy: boolean
    connected: boolean
    last_error: string | null
    load: { running: number }
    jobs: Array<{ job_ref: string }>
  }>
}
type Status = {
  job_id: string
  status: string
  job_hash: string | null
  worker_metadata: { worker_id: string; signature: string } | null
  output_files: Record<string, { path: string }>
}

let dir: string
/** The workers' scratch dirs (tmpfs), removed with the test even after a SIGKILL. */
let shm: string
let gateway: SpawnedNode
let url: string
const gatewayLog: string[] = []
const workers = new Map<string, { node: SpawnedNode; log: string[] }>()
const keys: Record<'w1' | 'w2' | 'w3' | 'stranger' | 'victim' | 'impostor', WorkerKey> = {
  w1: generateWorkerKey(),
  w2: generateWorkerKey(),
  w3: generateWorkerKey(),
  stranger: generateWorkerKey(),
  victim: generateWorkerKey(),
  impostor: generateWorkerKey(),
}

const peerOf = (key: WorkerKey): string => peerIdFromPublicKey(publicKeyFromRaw(key.publicKey)).toString()

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}

async function startWorker(name: keyof typeof keys, args: string[]): Promise<void> {
  const log: string[] = []
  const node = await spawnNode({
    cli: sandrunBin,
    command: 'worker',
    args: ['--mode', 'pool', '--key', path.join(dir, `${name}.json`), '--scratch-dir', path.join(shm, name), ...args],
    onLog: (line) => log.push(line),
  })
  workers.set(name, { node, log })
}

async function pool(): Promise<PoolView> {
  return (await (await fetch(`${url}/pool`)).json()) as PoolView
}

/** Polls GET /pool until `ready` holds (the gateway pings its workers every 2 s). */
async function poolUntil(ready: (view: PoolView) => boolean): Promise<PoolView> {
  for (;;) {
    const view = await pool()
    if (ready(view)) return view
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

async function submit(files: Record<string, string>, manifest: object): Promise<GatewayJobId> {
  const form = new FormData()
  form.append('files', new Blob([await packFiles(files)]), 'job.tar.gz')
  form.append('manifest', JSON.stringify(manifest))
  const response = await fetch(`${url}/submit`, { method: 'POST', body: form })
  const body = (await response.json()) as { job_id: string }
  expect(response.status).toBe(200)
  return gatewayJobId(body.job_id)
}

async function waitFinal(jobId: string): Promise<Status> {
  for (;;) {
    const status = (await (await fetch(`${url}/status/${jobId}?wait=20`)).json()) as Status
    if (status.status === 'completed' || status.status === 'failed') return status
  }
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sandrun-pool-test-'))
  shm = await mkdtemp('/dev/shm/sandrun-pool-test-')
  for (const [name, key] of Object.entries(keys)) await saveWorkerKey(path.join(dir, `${name}.json`), key)
  const gatewayKey = generateWorkerKey()
  await saveWorkerKey(path.join(dir, 'gateway.json'), gatewayKey)
  const [gatewayPort, impostorPort] = [await freePort(), await freePort()]
  const gatewayAddress = `/ip4/127.0.0.1/tcp/${gatewayPort}/p2p/${peerOf(gatewayKey)}`
  await writeFile(
    path.join(dir, 'workers.json'),
    JSON.stringify([
      { worker_id: keys.w1.workerId, max_concurrent_jobs: 2 },
      { worker_id: keys.w2.workerId, max_concurrent_jobs: 2 },
      { worker_id: keys.w3.workerId, max_concurrent_jobs: 2 },
      // Allowlisted, but the process at this endpoint holds the impostor's key, not the victim's.
      { worker_id: keys.victim.workerId, max_concurrent_jobs: 2, endpoint: `/ip4/127.0.0.1/tcp/${impostorPort}` },
    ]),
  )
  gateway = await spawnNode({
    cli: sandrunBin,
    command: 'gateway',
    args: [
      '--mode',
      'pool',
      '--workers',
      path.join(dir, 'workers.json'),
      '--key',
      path.join(dir, 'gateway.json'),
      '--listen',
      `/ip4/127.0.0.1/tcp/${gatewayPort}`,
      '--port',
      '0',
      '--concurrent-jobs',
      '20',
      '--jobs-per-hour',
      '1000',
      '--cpu-seconds-per-minute',
      '1000',
    ],
    onLog: (line) => gatewayLog.push(line),
  })
  url = gateway.ready.url!
  await Promise.all([
    startWorker('w1', ['--bootstrap', gatewayAddress]),
    startWorker('w2', ['--bootstrap', gatewayAddress]),
    startWorker('w3', ['--bootstrap', gatewayAddress]),
    startWorker('stranger', ['--bootstrap', gatewayAddress]),
    startWorker('impostor', ['--bootstrap', gatewayAddress, '--listen', `/ip4/127.0.0.1/tcp/${impostorPort}`]),
  ])
  await poolUntil((view) => view.workers.filter((w) => w.healthy).length === 3)
}, 60_000)

afterAll(async () => {
  await Promise.all([...workers.values()].map((w) => w.node.stop(2000)))
  await gateway?.stop(5000)
  if (dir) await rm(dir, { recursive: true, force: true })
  if (shm) await rm(shm, { recursive: true, force: true })
})

describe('pool mode', () => {
  it('spreads jobs over the three healthy workers and serves results signed by their allowlisted keys', async () => {
    const job = { 'main.py': 'import time\ntime.sleep(1)\nprint("pool says hi")\nopen("out.txt", "w").write("42\\n")\n' }
    const ids = await Promise.all([1, 2, 3].map(() => submit(job, { entrypoint: 'main.py', outputs: ['out.txt'] })))
    const statuses = await Promise.all(ids.map(waitFinal))
    expect(statuses.map((s) => s.status)).toEqual(['completed', 'completed', 'completed'])
    const ran = statuses.map((s) => s.worker_metadata!.worker_id)
    expect(new Set(ran)).toEqual(new Set([keys.w1.workerId, keys.w2.workerId, keys.w3.workerId]))
    for (const status of statuses) {
      expect(verifyWorkerSignature({ workerId: status.worker_metadata!.worker_id, root: status.job_hash!, signature: status.worker_metadata!.signature })).toBe(
        true,
      )
    }
    const first = statuses[0]!
    expect(await (await fetch(`${url}/logs/${first.job_id}?format=text`)).text()).toContain('pool says hi')
    expect(await (await fetch(`${url}/download/${first.job_id}/out.txt`)).text()).toBe('42\n')
  }, 30_000)

  it('refuses peers outside workers.json and a peer that claims an allowlisted worker_id without its key', async () => {
    // The gateway re-dials the allowlisted endpoint every 2 s; the error of the latest attempt is
    // either the identity mismatch (libp2p noise: the key the remote proved is not the one its
    // allowlisted worker_id pins) or a ping on a connection already torn down. Wait for the first.
    const isVictim = (w: PoolView['workers'][number]) => w.worker_id === keys.victim.workerId
    const view = await poolUntil((v) => /does not match expected remote identity/.test(v.workers.find(isVictim)?.last_error ?? ''))
    expect(view.workers.map((w) => w.worker_id).sort()).toEqual([keys.w1, keys.w2, keys.w3, keys.victim].map((k) => k.workerId).sort())
    expect(view.workers.find(isVictim)!.healthy).toBe(false)
    // The gateway hung up on both strangers as soon as their connections opened.
    const refused = gatewayLog.filter((line) => line.includes('peer refused: not in workers.json'))
    expect(refused.some((line) => line.includes(peerOf(keys.stranger)))).toBe(true)
    expect(refused.some((line) => line.includes(peerOf(keys.impostor)))).toBe(true)
    for (const name of ['stranger', 'impostor'] as const) expect(workers.get(name)!.log.some((line) => line.includes('job running'))).toBe(false)
  })

  it('runs a job again on another worker when its worker is killed mid-run', async () => {
    const jobId = await submit({ 'main.py': 'import time\nprint("started", flush=True)\ntime.sleep(3)\nprint("finished")\n' }, { entrypoint: 'main.py' })
    const view = await poolUntil((v) => v.workers.some((w) => w.jobs.some((j) => j.job_ref === jobRef(jobId))))
    const victimId = view.workers.find((w) => w.jobs.some((j) => j.job_ref === jobRef(jobId)))!.worker_id
    const name = (['w1', 'w2', 'w3'] as const).find((n) => keys[n].workerId === victimId)!
    workers.get(name)!.node.child.kill('SIGKILL')
    const status = await waitFinal(jobId)
    expect(status.status).toBe('completed')
    expect(status.worker_metadata!.worker_id).not.toBe(victimId)
    expect(gatewayLog.some((line) => line.includes('job retried on another worker') && line.includes(victimId))).toBe(true)
    expect(await (await fetch(`${url}/logs/${jobId}?format=text`)).text()).toContain('finished')
    const after = await poolUntil((v) => v.workers.find((w) => w.worker_id === victimId)!.healthy === false)
    expect(after.workers.filter((w) => w.healthy)).toHaveLength(2)
  }, 40_000)
})
