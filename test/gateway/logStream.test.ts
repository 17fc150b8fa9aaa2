// WS /logs/:id/stream on a real port: replay of what was written, live output, the final status,
// many viewers at once, and a stalled viewer that is dropped without holding up the job.
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { jobSubmission, startTestGateway } from './testGateway.ts'

type Gateway = Awaited<ReturnType<typeof startTestGateway>>
type StreamMessage = { type: 'output'; stream: string; data: string } | { type: 'end'; status: { status: string; execution_metadata: { exit_code: number } } }

let gateway: Gateway
let base: string

beforeAll(async () => {
  gateway = await startTestGateway({ gateway: { logViewerMaxBufferedBytes: 64 * 1024 } })
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  base = `127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await gateway.close()
})

async function submit(files: Record<string, string>): Promise<string> {
  const { body, contentType } = await jobSubmission(files, { entrypoint: Object.keys(files)[0] })
  const response = await fetch(`http://${base}/submit`, { method: 'POST', body, headers: { 'content-type': contentType } })
  expect(response.status).toBe(200)
  return ((await response.json()) as { job_id: string }).job_id
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
    const jobId = await submit({ 'main.py': 'import sys\nfor i in range(80000): sys.stdout.write("x" * 99 + "\\n")\nprint("end")' })
    const socket = new WebSocket(`ws://${base}/logs/${jobId}/stream`)
    await new Promise((resolve) => socket.once('open', resolve))
    // Stop reading: the server's send buffer for this viewer fills up.
    ;(socket as unknown as { _socket: { pause(): void; resume(): void } })._socket.pause()
    const status = (await (await fetch(`http://${base}/status/${jobId}?wait=60`)).json()) as { status: string }
    expect(status.status).toBe('completed')
    const closed = new Promise<number>((resolve) => socket.once('close', resolve))
    ;(socket as unknown as { _socket: { resume(): void } })._socket.resume()
    expect(await closed).toBe(1013)
  })
})
