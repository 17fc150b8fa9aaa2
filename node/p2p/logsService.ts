// `/sandrun/logs/1.0.0`: a job's live log. The server replays what it has, streams new chunks until
// the job ends, and sends a final status; keepalive frames hold a quiet stream open (libp2p resets
// streams idle for 2 minutes). A slow reader never blocks the job: see LogFeed's drop policy.
import type { ChainJobId } from '../../verifier/index.ts'
import type { PeerTarget } from './dialTarget.ts'
import { P2pError } from './errors.ts'
import type { FramedStream } from './framedStream.ts'
import type { LogEvent } from './logFeed.ts'
import { operationSignal, toP2pError } from './operationSignal.ts'
import { logsProtocol } from './protocols.ts'
import { openRequest, protocolHandler, raceKeepalive, readAnswer, readRequest, RemoteRefusal, type P2pNode } from './protocolStreams.ts'
import { decodeChainJobId } from './decodeChainJobId.ts'
import { jobIdPattern } from './resultService.ts'

export type LogsServiceInit = {
  /** Opens a job's log (LogFeed.subscribe fits); undefined = unknown job. `signal` aborts when the reader leaves. */
  openLogs?: (jobId: ChainJobId, signal: AbortSignal) => AsyncIterable<LogEvent> | undefined
  keepaliveMs?: number
  /** Longest a log stream may stay open (serving side). */
  maxDurationMs?: number
  maxInboundStreams?: number
}

export const defaultLogsOptions = {
  // Well under libp2p's 120 s stream inactivity timeout.
  keepaliveMs: 20_000,
  // The sandbox's longest wall timeout (3600 s) plus queueing and upload.
  maxDurationMs: 2 * 3600_000,
  // Several watchers (gateway relays, users) per connection.
  maxInboundStreams: 16,
  connectTimeoutMs: 15_000,
  chunkBytes: 64 * 1024,
} as const

const streamTag = { stdout: 1, stderr: 2 } as const

export type FollowLogsParameters = {
  peer: PeerTarget
  jobId: ChainJobId
  signal?: AbortSignal
  /** Time to open the stream and get the answer. */
  connectTimeoutMs?: number
  /** Longest silence (no frame, not even a keepalive) before giving up; default 3 keepalives. */
  idleTimeoutMs?: number
}

export type LogsService = {
  readonly protocol: string
  start(): Promise<void>
  stop(): Promise<void>
  /** Chunks (and gaps) as they come, then one `end` event; throws a P2pError when the stream fails. */
  follow(parameters: FollowLogsParameters): AsyncGenerator<LogEvent>
}

export function logsService(init: LogsServiceInit) {
  return (node: P2pNode): LogsService => createLogsService(node, init)
}

function createLogsService(node: P2pNode, init: LogsServiceInit): LogsService {
  const keepaliveMs = init.keepaliveMs ?? defaultLogsOptions.keepaliveMs
  const { chunkBytes } = defaultLogsOptions
  const openLogs = init.openLogs

  const handler = protocolHandler(async (framed, _connection, signal) => {
    const request = await readRequest(framed, signal)
    const jobId = typeof request.jobId === 'string' ? request.jobId : ''
    if (!jobIdPattern.test(jobId)) throw new RemoteRefusal('BAD_REQUEST', 'jobId must be 1-128 characters of [A-Za-z0-9_-]')
    const reader = new AbortController()
    const id = decodeChainJobId(jobId)
    const events = id === null ? undefined : openLogs?.(id, AbortSignal.any([signal, reader.signal]))
    if (events === undefined) throw new RemoteRefusal('NOT_FOUND', 'no log for this job here')
    const iterator = events[Symbol.asyncIterator]()
    try {
      await framed.writeJson({ ok: true }, signal)
      let next = iterator.next()
      for (;;) {
        const result = await raceKeepalive(next, keepaliveMs)
        if (result === 'keepalive') {
          await framed.writeJson({ t: 'keepalive' }, signal)
          continue
        }
        if (result.done) return
        next = iterator.next()
        await writeEvent(framed, result.value, chunkBytes, signal)
        if (result.value.type === 'end') return
      }
    } finally {
      // Unsubscribes even when the feed is waiting for a chunk that may never come.
      reader.abort()
    }
  }, init.maxDurationMs ?? defaultLogsOptions.maxDurationMs)

  return {
    protocol: logsProtocol,
    async start() {
      if (openLogs === undefined) return
      await node.handle(logsProtocol, handler, { maxInboundStreams: init.maxInboundStreams ?? defaultLogsOptions.maxInboundStreams })
    },
    async stop() {
      if (openLogs !== undefined) await node.unhandle(logsProtocol)
    },
    async *follow({ peer, jobId, signal, connectTimeoutMs = defaultLogsOptions.connectTimeoutMs, idleTimeoutMs = 3 * keepaliveMs }) {
      const what = `the log of job ${jobId}`
      let op = operationSignal({ signal, timeoutMs: connectTimeoutMs })
      let framed: FramedStream | undefined
      try {
        framed = await openRequest(node, peer, logsProtocol, { v: 1, jobId: jobId.toString() }, op.signal)
        await readAnswer(framed, what, 1024, op.signal)
        for (;;) {
          op = operationSignal({ signal, timeoutMs: idleTimeoutMs })
          const frame = await framed.readFrame({ maxLength: 4 * chunkBytes, signal: op.signal })
          if (frame === undefined) throw new P2pError('STREAM_FAILED', `The peer closed ${what} before the job ended; follow it again or ask another worker.`)
          if (frame.kind === 'bytes') {
            const tag = frame.data[0]
            if (tag !== streamTag.stdout && tag !== streamTag.stderr) throw new P2pError('PROTOCOL_VIOLATION', `The peer sent a log chunk for an unknown stream in ${what}.`)
            yield { type: 'chunk', stream: tag === streamTag.stdout ? 'stdout' : 'stderr', data: frame.data.subarray(1) }
            continue
          }
          const { t } = frame.value
          if (t === 'keepalive') continue
          if (t === 'gap' && Number.isSafeInteger(frame.value.droppedBytes) && (frame.value.droppedBytes as number) > 0) {
            yield { type: 'gap', droppedBytes: frame.value.droppedBytes as number }
            continue
          }
          if (t === 'end' && typeof frame.value.status === 'object' && frame.value.status !== null && !Array.isArray(frame.value.status)) {
            await framed.close(op.signal).catch(() => undefined)
            yield { type: 'end', status: frame.value.status as Record<string, unknown> }
            return
          }
          throw new P2pError('PROTOCOL_VIOLATION', `The peer sent a malformed message in ${what}.`)
        }
      } catch (error) {
        const failure = toP2pError(error, `Following ${what}`, op)
        framed?.abort(failure)
        throw failure
      } finally {
        // A consumer that stops iterating early closes the stream here too.
        if (framed?.stream.status === 'open') framed.abort(new Error('log reader left'))
        framed?.dispose()
      }
    },
  }
}

async function writeEvent(framed: FramedStream, event: LogEvent, chunkBytes: number, signal: AbortSignal): Promise<void> {
  if (event.type === 'gap') return framed.writeJson({ t: 'gap', droppedBytes: event.droppedBytes }, signal)
  if (event.type === 'end') return framed.writeJson({ t: 'end', status: event.status }, signal)
  for (let offset = 0; offset < event.data.byteLength; offset += chunkBytes) {
    const piece = event.data.subarray(offset, offset + chunkBytes)
    const frame = new Uint8Array(piece.byteLength + 1)
    frame[0] = streamTag[event.stream]
    frame.set(piece, 1)
    await framed.writeBytes(frame, signal)
  }
}
