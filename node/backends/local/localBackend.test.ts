import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { packFiles } from '../../../sandbox/bundle/packFiles.ts'
import { type GatewayJobId, generateWorkerKey, resultEntries, resultRoot, verifyWorkerSignature } from '../../../verifier/index.ts'
import { createFakeSandbox } from '../../../test/gateway/fakeSandbox.ts'
import type { JobBackend, JobStatus } from '../jobBackend.ts'
import { createLocalBackend, type LocalBackendOptions } from './localBackend.ts'
import { openStorage } from '../../storage/openStorage.ts'
import type { Clock } from '../../clock/systemClock.ts'
import { manualClock } from '../../../test/retention/manualClock.ts'

const backends: JobBackend[] = []
const roots: string[] = []
afterEach(async () => {
  await Promise.all(backends.splice(0).map((b) => b.close()))
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })))
})

async function setup(overrides: Partial<LocalBackendOptions> = {}, clock?: Clock, { reportsOnAsk = true } = {}) {
  const root = await mkdtemp('/dev/shm/sandrun-backend-test-')
  roots.push(root)
  const storage = await openStorage({ root, requireTmpfs: true })
  const sandbox = createFakeSandbox({ reportsOnAsk })
  const workerKey = generateWorkerKey()
  const backend = createLocalBackend(
    { parallelism: 1, maxQueuedJobs: 10, retentionMaxMs: 60_000, retentionAfterFailureMs: 60_000, ...overrides },
    { sandbox, storage, workerKey, clock },
  )
  backends.push(backend)
  const bundle = await packFiles({ 'main.sh': 'echo hello' })
  const submit = (args: string[] = [], clientId = '10.0.0.1') => backend.submit({ manifest: { entrypoint: 'main.sh', args }, bundle, clientId })
  return { backend, sandbox, submit, root, workerKey }
}

function running(backend: JobBackend, jobId: GatewayJobId): Promise<void> {
  return new Promise((resolve) => {
    const watch = backend.watch(jobId, (e) => e.type === 'status' && e.status.status === 'running' && resolve())
    if (watch.status.status === 'running') resolve()
  })
}

function finalStatus(backend: JobBackend, jobId: GatewayJobId): Promise<JobStatus> {
  return new Promise((resolve) => {
    const watch = backend.watch(jobId, (event) => {
      if (event.type === 'status' && (event.status.status === 'completed' || event.status.status === 'failed')) resolve(event.status)
    })
    if (watch.status.status === 'completed' || watch.status.status === 'failed') resolve(watch.status)
  })
}

describe('local backend', () => {
  it("deletes a client's oldest finished jobs early once its jobs keep more than its budget, and only that client's", async () => {
    // Each fake job keeps 6 bytes of stdout and a 7-byte output: 13 bytes; the budget holds two.
    const { backend, submit } = await setup({ maxRetainedBytesPerClient: 30 })
    const other = await submit([], '10.0.0.2')
    await finalStatus(backend, other.jobId)
    const mine: GatewayJobId[] = []
    for (let i = 0; i < 3; i++) {
      const { jobId } = await submit()
      await finalStatus(backend, jobId)
      mine.push(jobId)
    }
    expect(() => backend.status(mine[0]!)).toThrow(/not found/i)
    expect(backend.status(mine[1]!).status).toBe('completed')
    expect(backend.status(mine[2]!).status).toBe('completed')
    expect(backend.status(other.jobId).status).toBe('completed')
  })

  it('queues in order with positions, shows running, and runs one job at a time at parallelism 1', async () => {
    const { backend, submit } = await setup()
    const a = await submit(['hang'])
    const b = await submit()
    const c = await submit()
    expect(a.position).toBe(1)
    // a took the only slot; b and c wait in line.
    expect([b.position, c.position]).toEqual([1, 2])
    await running(backend, a.jobId)
    expect(backend.status(a.jobId).status).toBe('running')
    expect(backend.status(b.jobId)).toMatchObject({ status: 'queued', position: 1 })
    await backend.delete(a.jobId)
    expect((await finalStatus(backend, b.jobId)).status).toBe('completed')
  })

  it("gives a freed slot to the waiting job of the client that used the least CPU lately, not to the first in line", async () => {
    const { backend, submit, sandbox } = await setup()
    // The gateway's quota meter: one client has used 9 CPU-seconds this minute, the other none.
    backend.meterUsage({ charge: () => {}, exhausted: () => false, used: (clientId) => (clientId === '10.0.0.9' ? 9 : 0) })
    const hog = await submit(['hang'], '10.0.0.9')
    await running(backend, hog.jobId)
    const heavyNext = await submit(['heavy'], '10.0.0.9')
    const light = await submit(['light'], '10.0.0.2')
    // The light client's job is first in line, and both see where they stand.
    expect(backend.status(light.jobId)).toMatchObject({ status: 'queued', position: 1 })
    expect(backend.status(heavyNext.jobId)).toMatchObject({ status: 'queued', position: 2 })
    await backend.delete(hog.jobId)
    await finalStatus(backend, heavyNext.jobId)
    expect(sandbox.started).toEqual(['hang', 'light', 'heavy'])
    // On the CPU, each job weighs 1 / (1 + its client's use): beside the light job, the heavy one gets a tenth.
    expect(Object.keys(sandbox.weights)).toEqual(['hang', 'light', 'heavy'])
    expect([sandbox.weights.hang, sandbox.weights.light, sandbox.weights.heavy].map((w) => w!.toFixed(2))).toEqual(['0.10', '1.00', '0.10'])
  })

  it('lets a job that has waited go before newer jobs of clients about as light as its own, never before clearly lighter ones', async () => {
    const clock = manualClock()
    // The hog reports only when the test says so: it keeps its slot while the others wait in line.
    const { backend, submit, sandbox } = await setup({}, clock, { reportsOnAsk: false })
    // Used this minute: 0.6 CPU-seconds, none, and 5 (a heavy client).
    const used: Record<string, number> = { '10.0.0.5': 0.6, '10.0.0.9': 5 }
    backend.meterUsage({ charge: () => {}, exhausted: () => false, used: (clientId) => used[clientId] ?? 0 })
    const hog = await submit(['hang'], '10.0.0.1')
    await running(backend, hog.jobId)
    const heavy = await submit(['heavy'], '10.0.0.9')
    const waited = await submit(['waited'], '10.0.0.5')
    await clock.advance(10_000)
    const newer = await submit(['newer'], '10.0.0.6')
    // Ten seconds in line make up for a few tenths of a second of use, not for five seconds.
    expect([waited, newer, heavy].map((job) => backend.status(job.jobId).position)).toEqual([1, 2, 3])
    await backend.delete(hog.jobId)
    await finalStatus(backend, heavy.jobId)
    expect(sandbox.started).toEqual(['hang', 'waited', 'newer', 'heavy'])
  })

  it('serves clients that used under two seconds lately in the order their jobs came, not by the tenths they used', async () => {
    const clock = manualClock()
    const { backend, submit, sandbox } = await setup({}, clock)
    // Used this minute: 1.5 CPU-seconds (a light client that ran a job lately), 2.5 and 5 (heavier).
    const used: Record<string, number> = { '10.0.0.5': 1.5, '10.0.0.8': 2.5, '10.0.0.9': 5 }
    backend.meterUsage({ charge: () => {}, exhausted: () => false, used: (clientId) => used[clientId] ?? 0 })
    const hog = await submit(['hang'], '10.0.0.1')
    await running(backend, hog.jobId)
    const heavy = await submit(['heavy'], '10.0.0.9')
    const heavier = await submit(['heavier'], '10.0.0.8')
    const earlier = await submit(['earlier'], '10.0.0.5')
    // A new client, which used nothing yet, comes after the light one that came first.
    const newcomer = await submit(['newcomer'], '10.0.0.6')
    expect([earlier, newcomer, heavier, heavy].map((job) => backend.status(job.jobId).position)).toEqual([1, 2, 3, 4])
    await backend.delete(hog.jobId)
    await finalStatus(backend, heavy.jobId)
    expect(sandbox.started).toEqual(['hang', 'earlier', 'newcomer', 'heavier', 'heavy'])
  })

  it("gives a light client's waiting job the slot of a job whose client was heavy when it came as it arrives, and at the end of a light one's 2 s", async () => {
    const clock = manualClock()
    const { backend, submit, sandbox } = await setup({}, clock)
    // Used this minute: 5 CPU-seconds for 10.0.0.9, nothing for the others.
    backend.meterUsage({ charge: () => {}, exhausted: () => false, used: (clientId) => (clientId === '10.0.0.9' ? 5 : 0) })
    const heavy = await submit(['hang', 'heavy'], '10.0.0.9')
    await running(backend, heavy.jobId)
    // No report comes on its own here (the fake sandbox has no clock): the light job's arrival asks
    // the running job for one, and it gives way, though it has had the slot for no time.
    const light = await submit(['light'], '10.0.0.2')
    await finalStatus(backend, light.jobId)
    expect(backend.status(heavy.jobId).status).toBe('running')
    await backend.delete(heavy.jobId)
    // A job of a client that was light when it came keeps the slot for its first 2 s.
    const first = await submit(['hang', 'first'], '10.0.0.3')
    await running(backend, first.jobId)
    const waiting = await submit(['waiting'], '10.0.0.4')
    expect(sandbox.reports['hang first']!({ cpuSeconds: 0.5, outputBytes: 0, inflatedBytes: 0, held: false })).toBe('run')
    expect(backend.status(waiting.jobId).status).toBe('queued')
    // At the end of its slice it reports and gives way, without waiting for its next report.
    await clock.advance(2000)
    await finalStatus(backend, waiting.jobId)
    await backend.delete(first.jobId)
  })

  it('asks only the jobs that hold a slot for a report when a job arrives, not those held for their quota', async () => {
    const { backend, submit, sandbox } = await setup({ parallelism: 1 })
    let exhausted = true
    backend.meterUsage({ charge: () => {}, exhausted: (clientId) => exhausted && clientId === '10.0.0.9', used: () => 0 })
    const usage = { cpuSeconds: 0.5, outputBytes: 0, inflatedBytes: 0, held: false }
    const held = await submit(['hang', 'held'], '10.0.0.9')
    await running(backend, held.jobId)
    // Its client's minute is used up: held, it lends its slot, which the next job takes.
    expect(sandbox.reports['hang held']!(usage)).toBe('hold')
    const holder = await submit(['hang', 'holder'], '10.0.0.2')
    await running(backend, holder.jobId)
    const arriving = await submit(['arriving'], '10.0.0.3')
    await expect.poll(() => sandbox.asked['hang holder']).toBe(1)
    expect(sandbox.asked['hang held']).toBeUndefined()
    exhausted = false
    await backend.delete(holder.jobId)
    await finalStatus(backend, arriving.jobId)
    await backend.delete(held.jobId)
  })

  it("counts a client's jobs that have started and not ended, used CPU or not, in its place in line", async () => {
    const { backend, submit, sandbox } = await setup({ parallelism: 2 })
    // Used this minute: 0.5 CPU-seconds for 10.0.0.2, nothing for the others.
    backend.meterUsage({ charge: () => {}, exhausted: () => false, used: (clientId) => (clientId === '10.0.0.2' ? 0.5 : 0) })
    // A job of 10.0.0.1 has started (paused, idle or computing: it holds its place either way).
    const holding = await submit(['hang'], '10.0.0.1')
    const other = await submit(['hang other'], '10.0.0.3')
    await Promise.all([running(backend, holding.jobId), running(backend, other.jobId)])
    const second = await submit(['second'], '10.0.0.1')
    const light = await submit(['light'], '10.0.0.2')
    expect([light, second].map((job) => backend.status(job.jobId).position)).toEqual([1, 2])
    await backend.delete(other.jobId)
    await Promise.all([finalStatus(backend, light.jobId), finalStatus(backend, second.jobId)])
    expect(sandbox.started.slice(2)).toEqual(['light', 'second'])
  })

  it('cancels a running job when its data is deleted and frees the slot', async () => {
    const { backend, submit, sandbox } = await setup()
    const a = await submit(['hang'])
    await expect.poll(() => sandbox.started).toEqual(['hang'])
    const ended = finalStatus(backend, a.jobId)
    await backend.delete(a.jobId)
    // Whoever was watching learns that the job ended.
    expect(await ended).toMatchObject({ status: 'failed', error: expect.stringMatching(/cancelled/) })
    expect(() => backend.status(a.jobId)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }))
    expect(backend.stats().activeJobsOf('10.0.0.1')).toBe(0)
    const b = await submit(['second'])
    await finalStatus(backend, b.jobId)
    expect(sandbox.started).toEqual(['hang', 'second'])
  })

  it('commits the result and signs the root with the worker key', async () => {
    const { backend, submit, workerKey } = await setup()
    const { jobId } = await submit()
    const status = await finalStatus(backend, jobId)
    const logs = backend.logs(jobId)
    const expectedRoot = resultRoot(
      resultEntries({ exitCode: 0, termination: 'exited', stdout: logs.stdout, stderr: logs.stderr, outputs: status.outputFiles }),
    )
    expect(status.resultRoot).toBe(expectedRoot)
    expect(status.worker?.workerId).toBe(workerKey.workerId)
    expect(verifyWorkerSignature({ workerId: status.worker!.workerId, root: expectedRoot, signature: status.worker!.signature })).toBe(true)
  })

  it('deletes the job data right after every output was downloaded', async () => {
    const { backend, submit, root } = await setup()
    const { jobId } = await submit()
    await finalStatus(backend, jobId)
    expect(await readdir(root)).toHaveLength(1)
    const { stream } = await backend.openOutput(jobId, 'out.txt')
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).toString()).toBe('result\n')
    await new Promise((resolve) => setImmediate(resolve))
    expect(() => backend.status(jobId)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }))
    await expect.poll(() => readdir(root)).toHaveLength(0)
  })

  it('keeps a failed job only for the failure retention time', async () => {
    const { backend, submit } = await setup({ retentionAfterFailureMs: 50 })
    const { jobId } = await submit(['fail'])
    const status = await finalStatus(backend, jobId)
    expect(status.status).toBe('failed')
    expect(status.expiresAt - status.finishedAt!).toBeLessThanOrEqual(50)
    await expect.poll(() => backend.stats().retainedJobs, { timeout: 5000 }).toBe(0)
  })

  it('gives every job id at least 128 random bits', async () => {
    const { submit } = await setup({ parallelism: 4 })
    const ids = await Promise.all([submit(), submit()])
    for (const { jobId } of ids) expect(jobId).toMatch(/^job-[0-9a-f]{32}$/)
    expect(ids[0]!.jobId).not.toBe(ids[1]!.jobId)
  })

  it('refuses a manifest whose entrypoint is not in the bundle, before queueing', async () => {
    const { backend } = await setup()
    const bundle = await packFiles({ 'other.sh': 'echo' })
    await expect(backend.submit({ manifest: { entrypoint: 'main.sh' }, bundle, clientId: 'x' })).rejects.toMatchObject({ code: 'JOB_INVALID', reason: 'ENTRYPOINT_MISSING' })
    expect(backend.stats().jobsTotal).toBe(0)
  })
})

