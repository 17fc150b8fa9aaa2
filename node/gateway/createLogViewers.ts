// The senders behind WS /logs/:id/stream. Each viewer is fed as fast as its socket takes the data:
// at most a window of bytes is in flight to it, and all viewers together stay under one budget,
// so a thousand viewers that never read cost the service that budget, not a copy of the logs each.
// What a viewer has not been sent yet is only referenced (views of the job's log), never copied;
// each piece of a log is encoded once and the same bytes go to every viewer, live or replaying.
// Sending runs in turns of a few milliseconds between which the event loop serves everyone else:
// a socket that takes data at once calls back within the same tick, so without turns a few
// thousand viewers replaying a long log held the loop for seconds (the hostile soak's stalls).
// A viewer whose socket takes nothing for `stallMs`, or that falls too far behind, is dropped with
// close code 1013 (it may reconnect: the replay starts over).
import type { WebSocket } from 'ws'
import { utf8Boundary } from './utf8Boundary.ts'
import type { OutputStream } from '../../verifier/index.ts'

export type CreateLogViewersParameters = {
  /** Bytes in flight to one viewer. */
  windowBytes: number
  /** Bytes in flight to all viewers together. */
  budgetBytes: number
  /** No progress for this long while bytes are in flight: dropped. */
  stallMs: number
}

export type LogViewer = {
  output(stream: OutputStream, data: Buffer): void
  /** A message of its own between the output pieces (a `truncated` or `gap` notice). */
  notice(message: Record<string, unknown>): void
  /** The final message; the socket is closed (1000) once it is sent. */
  end(status: unknown): void
}

export type LogViewers = {
  open(socket: WebSocket): LogViewer
  /** Viewers connected now. */
  readonly size: number
  /** Bytes in flight to all of them. */
  readonly inFlight: number
  close(): void
}

/** Input bytes per `output` message (a message is at most ~6x this once JSON-encoded). */
const pieceBytes = 16 * 1024
/** Queued items a viewer may fall behind by; merged chunks keep honest viewers far below it. */
const maxQueued = 4096
/** Longest stretch of sending before the event loop gets a turn. */
const turnMs = 5
/** Encoded pieces kept for other viewers of the same bytes (a replay's pieces are the same for all). */
const cacheBytes = 16 * 1024 * 1024

type Item = { stream: OutputStream; data: Buffer; offset: number } | { json: unknown; last: boolean }

type Viewer = {
  socket: WebSocket
  queue: Item[]
  head: number
  inFlight: number
  progressAt: number
  /** The end message went out: nothing more is queued, the socket's close does the rest. */
  ended: boolean
  closed: boolean
}

export function createLogViewers({ windowBytes, budgetBytes, stallMs }: CreateLogViewersParameters): LogViewers {
  const viewers = new Set<Viewer>()
  const waiting = new Set<Viewer>()
  let inFlight = 0
  // Encoded pieces by where they lie in the job's log buffers: a piece is cut at the same place for
  // every viewer (from the same start, up to the same limit), so it is encoded once for all of them.
  // Oldest forgotten first beyond cacheBytes; the cache holds no log buffer itself.
  const bufferIds = new WeakMap<ArrayBufferLike, number>()
  let nextBufferId = 0
  const pieces = new Map<string, { message: Buffer; length: number }>()
  let cachedBytes = 0

  const encode = (stream: OutputStream, data: Buffer, offset: number): { message: Buffer; end: number } => {
    let bufferId = bufferIds.get(data.buffer)
    if (bufferId === undefined) {
      bufferId = nextBufferId++
      bufferIds.set(data.buffer, bufferId)
    }
    const limit = Math.min(data.length, offset + pieceBytes)
    const key = `${bufferId} ${stream} ${data.byteOffset + offset} ${data.byteOffset + limit} ${limit === data.length}`
    const known = pieces.get(key)
    if (known) return { message: known.message, end: offset + known.length }
    let end = utf8Boundary(data, offset + pieceBytes)
    if (end <= offset) end = limit
    const message = Buffer.from(JSON.stringify({ type: 'output', stream, data: data.toString('utf8', offset, end) }))
    pieces.set(key, { message, length: end - offset })
    cachedBytes += message.length
    for (const [oldKey, oldest] of pieces) {
      if (cachedBytes <= cacheBytes) break
      pieces.delete(oldKey)
      cachedBytes -= oldest.message.length
    }
    return { message, end }
  }

  // Viewers with something to send and room for it, served in turns (see the top of this file).
  const ready = new Set<Viewer>()
  let turnScheduled = false
  const schedule = (viewer: Viewer): void => {
    if (viewer.closed) return
    ready.add(viewer)
    if (turnScheduled) return
    turnScheduled = true
    setImmediate(takeTurn)
  }
  const takeTurn = (): void => {
    turnScheduled = false
    const until = performance.now() + turnMs
    for (const viewer of ready) {
      ready.delete(viewer)
      pump(viewer)
      if (performance.now() >= until) break
    }
    if (ready.size > 0 && !turnScheduled) {
      turnScheduled = true
      setImmediate(takeTurn)
    }
  }

  /** Forgets a viewer: what was in flight to it no longer counts, viewers waiting for budget go on. */
  const forget = (viewer: Viewer): void => {
    if (viewer.closed) return
    viewer.closed = true
    inFlight -= viewer.inFlight
    viewer.inFlight = 0
    viewer.queue = []
    viewers.delete(viewer)
    waiting.delete(viewer)
    ready.delete(viewer)
    wake()
  }

  /** Drops a viewer that does not keep up. Its socket takes nothing, so the close frame would wait behind the unsent data: cut it off soon after. */
  const dropSlow = (viewer: Viewer): void => {
    if (viewer.closed) return
    forget(viewer)
    viewer.socket.close(1013, 'viewer too slow; reconnect to replay')
    setTimeout(() => viewer.socket.terminate(), 1000).unref()
  }

  const pump = (viewer: Viewer): void => {
    while (!viewer.closed && !viewer.ended && viewer.head < viewer.queue.length && viewer.inFlight < windowBytes) {
      // Gone (its close event may not have come yet): nothing more is encoded for it.
      if (viewer.socket.readyState !== viewer.socket.OPEN) {
        forget(viewer)
        return
      }
      if (inFlight >= budgetBytes) {
        waiting.add(viewer)
        return
      }
      const item = viewer.queue[viewer.head]!
      let message: Buffer
      if ('json' in item) {
        message = Buffer.from(JSON.stringify(item.json))
        viewer.head++
      } else {
        const piece = encode(item.stream, item.data, item.offset)
        message = piece.message
        item.offset = piece.end
        if (item.offset >= item.data.length) viewer.head++
      }
      const size = message.length
      viewer.inFlight += size
      inFlight += size
      viewer.socket.send(message, { binary: false }, (error) => {
        if (viewer.closed) return
        if (error) return forget(viewer)
        viewer.inFlight -= size
        inFlight -= size
        viewer.progressAt = Date.now()
        schedule(viewer)
        wake()
      })
      if ('json' in item && item.last) {
        viewer.ended = true
        viewer.socket.close(1000, 'job finished')
        return
      }
    }
    if (viewer.head === viewer.queue.length) {
      viewer.queue = []
      viewer.head = 0
    }
  }

  /** Budget came free: the viewers that waited for it go on, in the next turn. */
  const wake = (): void => {
    if (inFlight >= budgetBytes) return
    for (const viewer of waiting) schedule(viewer)
    waiting.clear()
  }

  const sweep = setInterval(
    () => {
      const now = Date.now()
      for (const viewer of viewers) if (viewer.inFlight > 0 && now - viewer.progressAt > stallMs) dropSlow(viewer)
    },
    Math.max(10, Math.min(stallMs / 2, 5000)),
  )
  sweep.unref()

  return {
    open(socket) {
      const viewer: Viewer = { socket, queue: [], head: 0, inFlight: 0, progressAt: Date.now(), ended: false, closed: false }
      viewers.add(viewer)
      socket.once('close', () => forget(viewer))
      const enqueue = (item: Item): void => {
        if (viewer.closed || viewer.ended) return
        if (viewer.queue.length - viewer.head >= maxQueued) {
          dropSlow(viewer)
          return
        }
        viewer.queue.push(item)
        schedule(viewer)
      }
      return {
        output(stream, data) {
          if (data.length === 0 || viewer.closed || viewer.ended) return
          const last = viewer.queue.at(-1)
          // Output that continues the last queued chunk in the same buffer joins it (no new item).
          if (
            last &&
            viewer.queue.length - 1 >= viewer.head &&
            'data' in last &&
            last.stream === stream &&
            last.data.buffer === data.buffer &&
            last.data.byteOffset + last.data.length === data.byteOffset
          ) {
            last.data = Buffer.from(data.buffer, last.data.byteOffset, last.data.length + data.length)
            return schedule(viewer)
          }
          enqueue({ stream, data, offset: 0 })
        },
        notice(message) {
          enqueue({ json: message, last: false })
        },
        end(status) {
          enqueue({ json: { type: 'end', status }, last: true })
        },
      }
    },
    get size() {
      return viewers.size
    },
    get inFlight() {
      return inFlight
    },
    close() {
      clearInterval(sweep)
    },
  }
}
