// The shared plumbing of Sandrun's request/response protocols: one JSON request frame, a JSON
// answer `{ok: true, ...}` or `{ok: false, code, message}`, then protocol-specific frames. Servers
// get a deadline per stream; clients get a FramedStream bound to their call's signal.
import type { Connection, Libp2p, Stream, StreamHandler } from '@libp2p/interface'
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'
import { dialTarget, type PeerTarget } from './dialTarget.ts'
import { P2pError } from './errors.ts'
import { FramedStream } from './framedStream.ts'

/** The few libp2p node methods the protocol services need (tests may pass any libp2p node). */
export type P2pNode = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol'>

/** Requests are tiny (a hash or a job id); anything bigger is junk. */
export const maxRequestBytes = 4096

/** Error codes a server may answer with; the client maps NOT_FOUND to NOT_FOUND, the rest to REMOTE_ERROR. */
export type RemoteErrorCode = 'NOT_FOUND' | 'BAD_REQUEST' | 'INTERNAL'

/** Answered to the peer in an error frame, never to an HTTP client. */
const remoteRefusalCodes: ErrorCodeTable<RemoteErrorCode> = { NOT_FOUND: hostError, BAD_REQUEST: hostError, INTERNAL: hostError }

export class RemoteRefusal extends SandrunError<RemoteErrorCode> {
  override name = 'RemoteRefusal'

  constructor(code: RemoteErrorCode, message: string) {
    super(code, message, remoteRefusalCodes)
  }
}

export type ServeStream = (framed: FramedStream, connection: Connection, signal: AbortSignal) => Promise<void>

export type ProtocolHandlerOptions = {
  /** Serving a stream takes at most this long; then the stream is aborted. */
  timeoutMs: number
  /** The peer closing the stream stops the serving too (long work it may cancel: a job's run). */
  stopWhenClosed?: boolean
  /** Errors answered with an error frame `{ok: false, code, message}` (default: RemoteRefusal). */
  isRefusal?: (error: unknown) => error is SandrunError<string>
}

const isRemoteRefusal = (error: unknown): error is RemoteRefusal => error instanceof RemoteRefusal

/**
 * A stream handler that runs `serve` under a deadline, answers a refusal with an error frame, and
 * resets the stream on any other failure (the client sees STREAM_FAILED and tries elsewhere).
 */
export function protocolHandler(serve: ServeStream, options: number | ProtocolHandlerOptions): StreamHandler {
  const { timeoutMs, stopWhenClosed = false, isRefusal = isRemoteRefusal } = typeof options === 'number' ? { timeoutMs: options } : options
  return async (stream: Stream, connection: Connection) => {
    const closed = new AbortController()
    const deadline = AbortSignal.timeout(timeoutMs)
    const signal = stopWhenClosed ? AbortSignal.any([closed.signal, deadline]) : deadline
    const onDeadline = (): void => stream.abort(new Error(`serving took longer than ${timeoutMs} ms`))
    const onClose = (): void => closed.abort(new Error('the peer closed the stream'))
    deadline.addEventListener('abort', onDeadline, { once: true })
    if (stopWhenClosed) stream.addEventListener('close', onClose)
    const framed = new FramedStream(stream)
    try {
      await serve(framed, connection, signal)
      await framed.close(signal)
    } catch (error) {
      if (isRefusal(error) && stream.writeStatus === 'writable') {
        await framed
          .writeJson({ ok: false, code: error.code, message: error.message }, signal)
          .then(() => framed.close(signal))
          .catch(() => stream.abort(error))
      } else {
        stream.abort(error instanceof Error ? error : new Error(String(error)))
      }
    } finally {
      deadline.removeEventListener('abort', onDeadline)
      stream.removeEventListener('close', onClose)
      framed.dispose()
    }
  }
}

/** Reads the request frame; malformed requests become a BAD_REQUEST answer. */
export async function readRequest(framed: FramedStream, signal: AbortSignal): Promise<Record<string, unknown>> {
  try {
    return await framed.readJson('a request', { maxLength: maxRequestBytes, signal })
  } catch (error) {
    if (error instanceof P2pError) throw new RemoteRefusal('BAD_REQUEST', error.shortMessage)
    throw error
  }
}

/** Opens a stream and sends the request; the caller reads the answer with `readAnswer`. */
export async function openRequest(node: P2pNode, peer: PeerTarget, protocol: string, request: Record<string, unknown>, signal: AbortSignal): Promise<FramedStream> {
  const stream = await node.dialProtocol(dialTarget(peer), protocol, { signal })
  const framed = new FramedStream(stream)
  await framed.writeJson(request, signal)
  return framed
}

/** Reads the `{ok}` answer frame; `{ok: false}` becomes NOT_FOUND or REMOTE_ERROR. */
export async function readAnswer(framed: FramedStream, what: string, maxLength: number, signal: AbortSignal): Promise<Record<string, unknown>> {
  const answer = await framed.readJson(`the answer to ${what}`, { maxLength, signal })
  if (answer.ok === true) return answer
  if (answer.ok !== false) throw new P2pError('PROTOCOL_VIOLATION', `The peer's answer to ${what} has no boolean "ok".`)
  const message = typeof answer.message === 'string' ? answer.message.slice(0, 500) : ''
  if (answer.code === 'NOT_FOUND') {
    throw new P2pError('NOT_FOUND', `The peer does not have ${what}; ask another provider.`, { details: message })
  }
  throw new P2pError('REMOTE_ERROR', `The peer refused ${what} (${String(answer.code).slice(0, 40)}); try another peer.`, { details: message })
}

/** A sha256 as the protocols carry it: 0x + 64 lowercase hex digits. */
export const sha256Pattern = /^0x[0-9a-f]{64}$/

/** Reads exactly `size` bytes of content sent as byte frames (at most 1 MiB each). */
export async function readContent(framed: FramedStream, size: number, name: string, signal: AbortSignal): Promise<Uint8Array> {
  const content = new Uint8Array(size)
  let received = 0
  while (received < size) {
    const frame = await framed.readFrame({ maxLength: Math.min(size - received, 1024 * 1024), signal })
    if (frame === undefined || frame.kind !== 'bytes') throw new P2pError('PROTOCOL_VIOLATION', `The peer cut ${name} short at ${received} of ${size} bytes.`)
    content.set(frame.data, received)
    received += frame.data.byteLength
  }
  return content
}

/** The next item, or 'keepalive' when none came within `keepaliveMs`. */
export async function raceKeepalive<T>(next: Promise<T>, keepaliveMs: number): Promise<T | 'keepalive'> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([next, new Promise<'keepalive'>((resolve) => (timer = setTimeout(() => resolve('keepalive'), keepaliveMs)))])
  } finally {
    clearTimeout(timer)
  }
}
