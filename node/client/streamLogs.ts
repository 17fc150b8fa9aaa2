// The gateway's WS log stream as an async iterator: output chunks as they are produced (and notes
// where output was cut), ending with the job's final status. Messages arriving faster than the
// consumer reads are queued in order.
import WebSocket from 'ws'
import { SandrunClientError } from './clientError.ts'
import type { JobStatusBody } from './jobStatusBody.ts'
import type { OutputStream } from '../../verifier/index.ts'

export type LogStreamMessage =
  | { type: 'output'; stream: OutputStream; data: string }
  /** The stream reached the gateway's cap; nothing more of it follows. */
  | { type: 'truncated'; stream: OutputStream; cap_bytes: number }
  /** Output was lost on the way to the gateway; the next output may start mid-line. */
  | { type: 'gap'; dropped_bytes: number }
  | { type: 'end'; status: JobStatusBody }

export type StreamLogsParameters = {
  baseUrl: string
  jobId: string
  signal?: AbortSignal | undefined
}

export async function* streamLogs({ baseUrl, jobId, signal }: StreamLogsParameters): AsyncGenerator<LogStreamMessage> {
  const url = new URL(`logs/${encodeURIComponent(jobId)}/stream`, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`)
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:'
  const socket = new WebSocket(url)
  const queue: LogStreamMessage[] = []
  let finished = false
  let failure: SandrunClientError | null = null
  let wake: (() => void) | null = null
  const notify = (): void => {
    wake?.()
    wake = null
  }
  socket.on('message', (data) => {
    queue.push(JSON.parse(data.toString()) as LogStreamMessage)
    notify()
  })
  socket.on('unexpected-response', (_request, response) => {
    failure = response.statusCode === 404 ? new SandrunClientError('NOT_FOUND', 'Job not found', { status: 404, details: jobId }) : new SandrunClientError('PROTOCOL', `Log stream refused with HTTP ${response.statusCode}`, { status: response.statusCode })
    socket.terminate()
  })
  socket.on('error', (error) => {
    failure ??= new SandrunClientError('UNREACHABLE', `Cannot open the log stream at ${url.host}`, { cause: error })
    finished = true
    notify()
  })
  socket.on('close', (code, reason) => {
    if (code === 1013) failure ??= new SandrunClientError('PROTOCOL', `The gateway dropped the log stream: ${reason.toString() || 'too slow'}`)
    finished = true
    notify()
  })
  const abort = (): void => socket.terminate()
  signal?.addEventListener('abort', abort)
  try {
    while (true) {
      const next = queue.shift()
      if (next) {
        yield next
        if (next.type === 'end') return
        continue
      }
      if (failure) throw failure
      if (finished) throw new SandrunClientError('PROTOCOL', 'The log stream ended before the job finished.')
      await new Promise<void>((resolve) => (wake = resolve))
    }
  } finally {
    signal?.removeEventListener('abort', abort)
    if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.terminate()
  }
}
