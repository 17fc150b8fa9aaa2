// Fair quotas with real jobs: CPU is charged while a job runs, a client whose minute is used up has
// its jobs held so another client's job runs at once, a deleted job is charged what it used, and
// the service's own work for a client (relaying its output, inflating its uploads, refusing them)
// counts against that client. Clients are told apart by X-Forwarded-For (a trusted proxy).
import { gzipSync } from 'node:zlib'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { serviceWorkSeconds } from '../../node/backends/serviceWorkSeconds.ts'
import { jobSubmission, multipartBody, startTestGateway } from './testGateway.ts'

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let base: string

beforeAll(async () => {
  gateway = await startTestGateway({ gateway: { trustProxy: true, rateLimits: { cpuSecondsPerMinute: 3, concurrentJobs: 5 } }, local: { parallelism: 2 } })
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  base = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await gateway.close()
})

const from = (address: string) => ({ 'x-forwarded-for': address })

async function submit(address: string, files: Record<string, string>, manifest: Record<string, unknown> = {}): Promise<string> {
  const { body, contentType } = await jobSubmission(files, { entrypoint: Object.keys(files)[0], ...manifest })
  const response = await fetch(`${base}/submit`, { method: 'POST', body, headers: { 'content-type': contentType, ...from(address) } })
  expect(response.status, await response.clone().text()).toBe(200)
  return ((await response.json()) as { job_id: string }).job_id
}

const status = async (jobId: string, wait = 0) => (await (await fetch(`${base}/status/${jobId}?wait=${wait}`)).json()) as { status: string }
const quota = async (address: string) => ((await (await fetch(`${base}/stats`, { headers: from(address) })).json()) as { your_quota: { used: number } }).your_quota

const spin = { 'spin.py': 'while True:\n    pass\n' }

/** A gateway of its own with one job slot and a CPU quota far from used up (time slicing's tests). */
async function startOneSlotGateway() {
  const gateway = await startTestGateway({ gateway: { trustProxy: true, rateLimits: { cpuSecondsPerMinute: 600, concurrentJobs: 5 } }, local: { parallelism: 1 } })
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  const url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
  return {
    url,
    close: () => gateway.close(),
    async post(address: string, files: Record<string, string>, manifest: Record<string, unknown> = {}): Promise<string> {
      const { body, contentType } = await jobSubmission(files, { entrypoint: Object.keys(files)[0], ...manifest })
      const response = await fetch(`${url}/submit`, { method: 'POST', body, headers: { 'content-type': contentType, ...from(address) } })
      return ((await response.json()) as { job_id: string }).job_id
    },
    statusOf: async (jobId: string, wait = 0): Promise<string> => ((await (await fetch(`${url}/status/${jobId}?wait=${wait}`)).json()) as { status: string }).status,
  }
}

describe('fair quotas', () => {
  it("holds a client's jobs once its minute is used up, so another client's job runs at once", async () => {
    const hogs = [await submit('203.0.113.1', spin, { cpu_seconds: 120, timeout: 120 }), await submit('203.0.113.1', spin, { cpu_seconds: 120, timeout: 120 })]
    await vi.waitFor(async () => expect((await Promise.all(hogs.map((id) => status(id)))).map((s) => s.status)).toEqual(['running', 'running']), { timeout: 30_000 })
    // Both slots are the hogs'. Charged as they run, they use up 3 CPU-s within a couple of seconds.
    await vi.waitFor(async () => expect((await quota('203.0.113.1')).used).toBeGreaterThanOrEqual(3), { timeout: 30_000, interval: 200 })
    const other = await submit('203.0.113.2', { 'main.sh': 'echo hello' })
    expect((await status(other, 30)).status).toBe('completed')
    // The other client's job did not wait for the hogs to end: they still run (held).
    expect((await Promise.all(hogs.map((id) => status(id)))).map((s) => s.status)).toEqual(['running', 'running'])
    for (const id of hogs) await fetch(`${base}/jobs/${id}`, { method: 'DELETE' })
    // Operators see how long the event loop was held up meanwhile.
    const { system } = (await (await fetch(`${base}/stats`)).json()) as { system: { event_loop_delay_ms: { p99: number; max: number } } }
    expect(system.event_loop_delay_ms.max).toBeGreaterThan(0)
    expect(system.event_loop_delay_ms.max).toBeGreaterThanOrEqual(system.event_loop_delay_ms.p99)
  })

  it("lends the slot of a job that only waits, so sleeping jobs do not keep another client's job queued", async () => {
    // Both slots taken by jobs that sleep (a squatter's cheapest way to hold the service).
    const sleepers = [await submit('203.0.113.7', { 'main.sh': 'sleep 90' }, { timeout: 120 }), await submit('203.0.113.7', { 'main.sh': 'sleep 90' }, { timeout: 120 })]
    await vi.waitFor(async () => expect((await Promise.all(sleepers.map((id) => status(id)))).map((s) => s.status)).toEqual(['running', 'running']), { timeout: 30_000 })
    const other = await submit('203.0.113.8', { 'main.sh': 'echo hello' })
    // It runs within seconds (the sleepers lend their slots after ~3 quiet seconds), long before they end.
    expect((await status(other, 30)).status).toBe('completed')
    expect((await Promise.all(sleepers.map((id) => status(id)))).map((s) => s.status)).toEqual(['running', 'running'])
    await Promise.all(sleepers.map((id) => fetch(`${base}/jobs/${id}`, { method: 'DELETE' })))
  }, 90_000)

  it("has a running job of a client that used more give way to a lighter client's job (time slicing)", async () => {
    // One slot and a quota far from used up: only giving way lets the light job in before the hog ends.
    const sliced = await startOneSlotGateway()
    const { url, post, statusOf } = sliced
    try {
      const hog = await post('203.0.113.9', spin, { cpu_seconds: 120, timeout: 120 })
      // The hog has computed for a while: its client has used a few CPU-seconds this minute.
      await vi.waitFor(async () => expect(((await (await fetch(`${url}/stats`, { headers: from('203.0.113.9') })).json()) as { your_quota: { used: number } }).your_quota.used).toBeGreaterThan(2), { timeout: 30_000 })
      const light = await post('203.0.113.10', { 'main.sh': 'echo hello' })
      expect(await statusOf(light, 30)).toBe('completed')
      expect(await statusOf(hog)).toBe('running')
      await fetch(`${url}/jobs/${hog}`, { method: 'DELETE' })
    } finally {
      await sliced.close()
    }
  }, 90_000)

  it("starts the next job while a finished job's outputs are collected and its workspace cleared", async () => {
    // One slot. The first job leaves 60,000 files (the workspace holds 65,536): walking them for
    // outputs and clearing the workspace is the service's work after the job's code has ended.
    const one = await startOneSlotGateway()
    const { url, post } = one
    const times = async (jobId: string) => (await (await fetch(`${url}/status/${jobId}?wait=60`)).json()) as { status: string; started_at: string; finished_at: string }
    try {
      const files = await post('203.0.113.13', { 'main.py': "for i in range(60_000):\n    open('f%d' % i, 'w').close()\n" }, { timeout: 60 })
      const next = await post('203.0.113.13', { 'main.sh': 'echo hello' })
      const [first, second] = await Promise.all([times(files), times(next)])
      expect([first.status, second.status]).toEqual(['completed', 'completed'])
      // The second job (same client: nothing to give way to) had the slot before the first was done.
      expect(Date.parse(second.started_at)).toBeLessThan(Date.parse(first.finished_at))
    } finally {
      await one.close()
    }
  }, 90_000)

  it("weighs clients by the time their jobs hold a slot, so jobs that hold one without computing give way too", async () => {
    // One slot, and one job may lend it for being idle: a client's second sleeper keeps the slot
    // (the first lends it), using no CPU, so only its slot time makes its client the heavier one.
    const sliced = await startOneSlotGateway()
    const { url, post, statusOf } = sliced
    try {
      const sleepers = [await post('203.0.113.11', { 'main.sh': 'sleep 90' }, { timeout: 120 })]
      await vi.waitFor(async () => expect(await statusOf(sleepers[0]!)).toBe('running'), { timeout: 30_000 })
      sleepers.push(await post('203.0.113.11', { 'main.sh': 'sleep 90' }, { timeout: 120 }))
      // The first lent its slot after a few quiet seconds; the second took it.
      await vi.waitFor(async () => expect(await statusOf(sleepers[1]!)).toBe('running'), { timeout: 30_000 })
      const light = await post('203.0.113.12', { 'main.sh': 'echo hello' })
      expect(await statusOf(light, 30)).toBe('completed')
      expect(await Promise.all(sleepers.map((id) => statusOf(id)))).toEqual(['running', 'running'])
      await Promise.all(sleepers.map((id) => fetch(`${url}/jobs/${id}`, { method: 'DELETE' })))
    } finally {
      await sliced.close()
    }
  }, 90_000)

  it('charges a job deleted while it runs for what it used', async () => {
    const job = await submit('203.0.113.3', spin, { cpu_seconds: 120, timeout: 120 })
    await vi.waitFor(async () => expect((await quota('203.0.113.3')).used).toBeGreaterThan(0.5), { timeout: 30_000, interval: 200 })
    expect((await fetch(`${base}/jobs/${job}`, { method: 'DELETE' })).status).toBe(200)
    const used = (await quota('203.0.113.3')).used
    expect(used).toBeGreaterThan(0.5)
  })

  it("charges the client for the output the service relays, beyond the capture cap too", async () => {
    const job = await submit('203.0.113.4', { 'main.sh': 'head -c 400M /dev/zero' })
    await status(job, 60)
    await vi.waitFor(async () => expect((await quota('203.0.113.4')).used).toBeGreaterThanOrEqual(serviceWorkSeconds({ relayedBytes: 400 * 1024 * 1024 })), { timeout: 30_000 })
  })

  it('charges refused submissions and the inflation of an upload without a manifest, which meets the same ratio cap', async () => {
    // 64 MiB of zeros in a ~64 KiB upload and no manifest part: the job.json lookup stops at 200:1.
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
    const { body, contentType } = multipartBody([{ name: 'files', value: bomb, filename: 'job.tar.gz' }])
    const response = await fetch(`${base}/submit`, { method: 'POST', body, headers: { 'content-type': contentType, ...from('203.0.113.5') } })
    expect(response.status).toBe(400)
    expect(await response.text()).toMatch(/200 times its compressed size/)
    const used = (await quota('203.0.113.5')).used
    expect(used).toBeGreaterThanOrEqual(serviceWorkSeconds({ inflatedBytes: 200 * bomb.length, refusedSubmissions: 1 }) - 0.001)
    // Each refusal costs the client, however cheap the refusal.
    const { body: refusedBody, contentType: refusedType } = await jobSubmission({ 'a.sh': 'x' }, { entrypoint: 'missing.sh' })
    for (let i = 0; i < 3; i++) {
      const refused = await fetch(`${base}/submit`, { method: 'POST', body: refusedBody, headers: { 'content-type': refusedType, ...from('203.0.113.6') } })
      expect(refused.status).toBe(400)
    }
    expect((await quota('203.0.113.6')).used).toBeGreaterThanOrEqual(3 * serviceWorkSeconds({ refusedSubmissions: 1 }) - 0.001)
  })
})
