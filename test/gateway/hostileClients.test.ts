// Clients that take without giving: readers that never read, uploads that never end, one subscriber
// spread over a whole IPv6 /64. Each address gets a bounded share (429 beyond it) and the others keep
// being served. Real jobs, a real port; addresses come from X-Forwarded-For (a trusted proxy).
import net from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { jobSubmission, startTestGateway } from './testGateway.ts'

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let port: number
let base: string

beforeAll(async () => {
  gateway = await startTestGateway({ gateway: { trustProxy: true, rateLimits: { concurrentJobs: 1 } } })
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  port = (gateway.app.server.address() as AddressInfo).port
  base = `http://127.0.0.1:${port}`
})
afterAll(async () => {
  await gateway.close()
})

async function submit(address: string, files: Record<string, string>, manifest: Record<string, unknown> = {}) {
  const { body, contentType } = await jobSubmission(files, { entrypoint: Object.keys(files)[0], ...manifest })
  return fetch(`${base}/submit`, { method: 'POST', body, headers: { 'content-type': contentType, 'x-forwarded-for': address } })
}

/** A client that sends a request and then reads nothing of the answer. */
function stalledRequest(head: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.pause()
      socket.write(head, () => resolve(socket))
    })
    socket.on('error', reject)
  })
}

describe('hostile clients', () => {
  it('counts one IPv6 /64 as one client for the job quotas', async () => {
    const first = await submit('2001:db8:0:1::1', { 'main.sh': 'sleep 30' }, { timeout: 60 })
    expect(first.status).toBe(200)
    // Another address of the same /64: the same client, whose one concurrent job is running.
    const same = await submit('2001:db8:0:1:ffff:ffff:ffff:fffe', { 'main.sh': 'echo hi' })
    expect(same.status).toBe(429)
    expect(((await same.json()) as { reason: string }).reason).toMatch(/concurrent jobs/)
    const neighbour = await submit('2001:db8:0:2::1', { 'main.sh': 'echo hi' })
    expect(neighbour.status).toBe(200)
    await fetch(`${base}/jobs/${((await first.json()) as { job_id: string }).job_id}`, { method: 'DELETE' })
  })

  it('lets one address hold 8 reads of a large log that it never reads, then answers 429; others are served', async () => {
    // 2 x 10 MiB of control bytes: 120 MiB as JSON, far beyond what socket buffers take.
    const accepted = await submit('198.51.100.7', { 'main.sh': 'head -c 20M /dev/zero; head -c 20M /dev/zero >&2' })
    const jobId = ((await accepted.json()) as { job_id: string }).job_id
    await fetch(`${base}/status/${jobId}?wait=60`)
    const head = (format: string) => `GET /logs/${jobId}?format=${format} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.9\r\n\r\n`
    const readers = await Promise.all(Array.from({ length: 8 }, (_, i) => stalledRequest(head(i % 2 === 0 ? 'json' : 'text'))))
    try {
      // Seconds in the emulated test VM: the eight reads start answering 120 MiB each.
      await vi.waitFor(
        async () => {
          const ninth = await fetch(`${base}/logs/${jobId}?format=json`, { headers: { 'x-forwarded-for': '198.51.100.9' } })
          expect(ninth.status).toBe(429)
          expect(((await ninth.json()) as { reason: string }).reason).toMatch(/Too many concurrent reads of logs and outputs from this address \(8 at once\)/)
        },
        { timeout: 30_000, interval: 200 },
      )
      // Another address reads the whole log, byte for byte what JSON.stringify would give.
      const full = await fetch(`${base}/logs/${jobId}?format=json`, { headers: { 'x-forwarded-for': '198.51.100.10' } })
      const body = (await full.json()) as { stdout: string; stderr: string; stdout_truncated: boolean }
      expect(body.stdout).toBe('\0'.repeat(10 * 1024 * 1024))
      expect(body.stdout_truncated).toBe(true)
    } finally {
      // The stalled readers leave (also when the test failed: the gateway's close waits for them).
      for (const socket of readers) socket.destroy()
    }
    // Their places come back.
    await vi.waitFor(
      async () => {
        const again = await fetch(`${base}/logs/${jobId}?format=text`, { headers: { 'x-forwarded-for': '198.51.100.9' } })
        expect(again.status).toBe(200)
        expect((await again.arrayBuffer()).byteLength).toBe(20 * 1024 * 1024)
      },
      { timeout: 30_000, interval: 200 },
    )
  })

  it('lets one address run 2 uploads to /verify at once, then answers 429', async () => {
    const accepted = await submit('198.51.100.20', { 'main.sh': 'echo x > out.txt' })
    const jobId = ((await accepted.json()) as { job_id: string }).job_id
    await fetch(`${base}/status/${jobId}?wait=60`)
    const boundary = 'slow-upload'
    // Headers and the start of a 50 MB file, and then nothing: an upload that never ends.
    const head = `POST /verify/${jobId} HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 198.51.100.21\r\nContent-Type: multipart/form-data; boundary=${boundary}\r\nContent-Length: 50000000\r\n\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="out.txt"\r\n\r\nxxxx`
    const uploads = await Promise.all([stalledRequest(head), stalledRequest(head)])
    await vi.waitFor(async () => {
      const third = await fetch(`${base}/verify/${jobId}`, { method: 'POST', body: new FormData(), headers: { 'x-forwarded-for': '198.51.100.21' } })
      expect(third.status).toBe(429)
    })
    const form = new FormData()
    form.append('path', 'out.txt')
    form.append('file', new Blob(['x\n']), 'out.txt')
    const other = await fetch(`${base}/verify/${jobId}`, { method: 'POST', body: form, headers: { 'x-forwarded-for': '198.51.100.22' } })
    expect(((await other.json()) as { verified: boolean }).verified).toBe(true)
    for (const socket of uploads) socket.destroy()
  })
})
