// WS /logs/:id/stream on a real port: replay of what was written, live output, the final status,
// many viewers at once, and a stalled viewer that is dropped without holding up the job.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import WebSocket from 'ws'
import { gatewayJobId, type GatewayJobId } from '../../verifier/index.ts'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { jobSubmission, startTestGateway } from './testGateway.ts'

type Gateway = Awaited<ReturnType<typeof startTestGateway>>
type StreamMessage = { type: 'output'; stream: string; data: string } | { type: 'end'; status: { status: string; execution_metadata: { exit_code: number } } }

let gateway: Gateway
let base: string

beforeAll(async () => {
  gateway = await startTestGateway({ gateway: { logViewerMaxBufferedBytes: 64 * 1024, logViewerStallMs: 300 } })
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  base = `127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await gateway.close()
})

async function submit(files: Record<string, string>): Promise<GatewayJobId> {
  const { body, contentType } = await jobSubmission(files, { entrypoint: Object.keys(files)[0] })
  const response = await fetch(`http://${base}/submit`, { method: 'POST', body, headers: { 'content-type': contentType } })
  expect(response.status).toBe(200)
  return gatewayJobId(((await response.json()) as { job_id: string }).job_id)
}

/** Every message of one viewer until the server closes, plus the close code. */
function view(jobId: string, onFirstOutput?: () => void): Promise<{ messages: StreamMessage[]; code: number }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`ws://${base}/logs/${jobId}/stream`)
    const messages: StreamMessage[] = []
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as StreamMessage
      if (message.type === 'output' && !messages.some((m) => m.type === 'output')) onFirstOutput?.()
      messages.push(message)
    })
    socket.on('close', (code) => resolve({ messages, code }))
    socket.on('error', reject)
  })
}

const stdoutOf = (messages: StreamMessage[]): string =>
  messages.flatMap((m) => (m.type === 'output' && m.stream === 'stdout' ? [m.data] : [])).join('')

describe('live log stream', () => {
  it('streams output as it is produced to many viewers, then the final status', async () => {
    // The pause outlasts the viewers' connecting, so their first output arrives while the job runs.
    const jobId = await submit({ 'main.sh': `echo before; sleep ${hostSlowdown()}; echo one; echo two >&2; echo three; exit 4` })
    const stateAtFirstOutput: string[] = []
    const viewers = Array.from({ length: 5 }, () => view(jobId, () => stateAtFirstOutput.push(gateway.backend.status(jobId).status)))
    const results = await Promise.all(viewers)
    // Output reached every viewer while the job was still running: it is live, not sent at the end.
    expect(stateAtFirstOutput).toEqual(['running', 'running', 'running', 'running', 'running'])
    for (const { messages, code } of results) {
      expect(code).toBe(1000)
      expect(stdoutOf(messages)).toBe('before\none\nthree\n')
      expect(messages).toContainEqual({ type: 'output', stream: 'stderr', data: 'two\n' })
      const last = messages.at(-1)
      expect(last).toMatchObject({ type: 'end', status: { status: 'failed', execution_metadata: { exit_code: 4 } } })
    }
  })

  it('replays everything to a viewer that connects after the job finished', async () => {
    const jobId = await submit({ 'main.sh': 'echo done early' })
    await fetch(`http://${base}/status/${jobId}?wait=30`)
    const { messages, code } = await view(jobId)
    expect(code).toBe(1000)
    expect(stdoutOf(messages)).toBe('done early\n')
    expect(messages.at(-1)).toMatchObject({ type: 'end', status: { status: 'completed' } })
  })

  it('answers 404 for an unknown job instead of upgrading', async () => {
    const socket = new WebSocket(`ws://${base}/logs/job-ffffffffffffffffffffffffffffffff/stream`)
    const status = await new Promise<number | undefined>((resolve) => socket.once('unexpected-response', (_request, response) => resolve(response.statusCode)))
    socket.on('error', () => undefined)
    socket.terminate()
    expect(status).toBe(404)
  })

  it('drops a viewer that stops reading, while the job finishes normally', async () => {
    // 2 x 10 MiB of output: more than the kernel's socket buffers take.
    const jobId = await submit({ 'main.py': 'import sys\nfor i in range(100000):\n    sys.stdout.write("x" * 99 + "\\n")\n    sys.stderr.write("y" * 99 + "\\n")\nprint("end")' })
    const socket = new WebSocket(`ws://${base}/logs/${jobId}/stream`)
    const received: StreamMessage[] = []
    socket.on('message', (data) => received.push(JSON.parse(data.toString()) as StreamMessage))
    await new Promise((resolve) => socket.once('open', resolve))
    // Stop reading: what the server sends piles up in the socket buffers, then stops moving.
    ;(socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()
    const status = (await (await fetch(`http://${base}/status/${jobId}?wait=60`)).json()) as { status: string }
    expect(status.status).toBe('completed')
    // Nothing moved for longer than logViewerStallMs: the service let the viewer go.
    await vi.waitFor(() => expect(gateway.app.websocketServer.clients.size).toBe(0), { timeout: 15_000, interval: 50 })
    const closed = new Promise<number>((resolve) => socket.once('close', resolve))
    ;(socket as unknown as { _socket: { resume(): void } })._socket.resume()
    // The close frame (1013) arrives if it got through before the connection was cut, else 1006.
    expect([1013, 1006]).toContain(await closed)
    expect(received.some((m) => m.type === 'end')).toBe(false)
  })

  it('gives one address a few viewers at once, then 429', async () => {
    const jobId = await submit({ 'main.sh': 'echo up; sleep 30' })
    const open = (): Promise<WebSocket | number> =>
      new Promise((resolve, reject) => {
        const socket = new WebSocket(`ws://${base}/logs/${jobId}/stream`)
        socket.once('open', () => resolve(socket))
        socket.once('unexpected-response', (_request, response) => resolve(response.statusCode ?? 0))
        socket.once('error', reject)
      })
    const first = await Promise.all(Array.from({ length: 8 }, open))
    expect(first.every((s) => typeof s !== 'number')).toBe(true)
    expect(await open()).toBe(429)
    // The refusal (written before the request reaches the routes) says why and when to come back.
    const refusal = await new Promise<{ retryAfter: string | undefined; body: unknown }>((resolve, reject) => {
      const socket = new WebSocket(`ws://${base}/logs/${jobId}/stream`)
      socket.once('unexpected-response', (_request, response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk))
        response.once('end', () => resolve({ retryAfter: response.headers['retry-after'], body: JSON.parse(body) }))
      })
      socket.once('open', () => reject(new Error('a ninth viewer was let in')))
    })
    expect(refusal).toEqual({ retryAfter: '1', body: { error: 'Rate limit exceeded', reason: 'Too many log viewers from this address (8 at once); wait for one to finish.', retry_after: 1 } })
    // A viewer that leaves gives its place back.
    const leaving = first[0] as WebSocket
    await new Promise((resolve) => {
      leaving.once('close', resolve)
      leaving.close()
    })
    await vi.waitFor(async () => {
      const again = await open()
      expect(again).not.toBe(429)
      ;(again as WebSocket).terminate()
    })
    for (const socket of first.slice(1)) (socket as WebSocket).terminate()
    await fetch(`http://${base}/jobs/${jobId}`, { method: 'DELETE' })
  })
})
