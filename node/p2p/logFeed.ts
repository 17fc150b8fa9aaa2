// A job's log as the logs protocol serves it: the worker appends stdout/stderr chunks and ends it
// with a status; each subscriber gets a replay of what is kept, then live chunks, then the end.
// Policy for slow readers: the job is never blocked. Each subscriber has a bounded queue
// (maxLagBytes); when it overflows, its oldest chunks are dropped and replaced by one `gap` event
// with the number of bytes lost. The replay is bounded the same way (maxReplayBytes, oldest first).
// With `captureBytes`, each stream keeps only its first bytes, as the sandbox's capture does: the
// feed then never holds more than the result will, and the end status says what was cut.
import type { OutputStream } from '../../verifier/index.ts'


export type LogEvent =
  | { type: 'chunk'; stream: OutputStream; data: Uint8Array }
  /** Bytes this subscriber will never see, because it read too slowly or joined after they were dropped. */
  | { type: 'gap'; droppedBytes: number }
  /** The job ended; `status` is the worker's final status object (state, exit code, ...). */
  | { type: 'end'; status: Record<string, unknown> }

export type LogFeedOptions = {
  maxReplayBytes?: number
  maxLagBytes?: number
  /** Bytes of each stream the feed takes at all; later output is ignored (default: no cap). */
  captureBytes?: number
}

export const defaultLogFeedOptions = {
  // Matches the sandbox's default capture cap per stream, so a replay is normally complete.
  maxReplayBytes: 8 * 1024 * 1024,
  // About a second of a chatty job on a slow link; bounds memory per watcher.
  maxLagBytes: 1024 * 1024,
} as const

type Subscriber = {
  queue: LogEvent[]
  queuedBytes: number
  frontGap: number
  wake: (() => void) | undefined
}

export class LogFeed {
  private readonly maxReplayBytes: number
  private readonly maxLagBytes: number
  private readonly replay: Array<Extract<LogEvent, { type: 'chunk' }>> = []
  private replayBytes = 0
  private replayDropped = 0
  private endEvent: Extract<LogEvent, { type: 'end' }> | undefined
  private readonly subscribers = new Set<Subscriber>()
  private readonly captureBytes: number
  private readonly taken = { stdout: 0, stderr: 0 }

  constructor({ maxReplayBytes = defaultLogFeedOptions.maxReplayBytes, maxLagBytes = defaultLogFeedOptions.maxLagBytes, captureBytes = Infinity }: LogFeedOptions = {}) {
    // A capped feed replays everything it took: a late watcher never starts mid-stream.
    this.maxReplayBytes = Number.isFinite(captureBytes) ? Math.max(maxReplayBytes, 2 * captureBytes) : maxReplayBytes
    this.maxLagBytes = maxLagBytes
    this.captureBytes = captureBytes
  }

  get ended(): boolean {
    return this.endEvent !== undefined
  }

  /** Never blocks and never throws for slow readers; appending after end is ignored. */
  append(stream: OutputStream, data: Uint8Array): void {
    const room = this.captureBytes - this.taken[stream]
    if (this.endEvent || data.byteLength === 0 || room <= 0) return
    const kept = data.byteLength > room ? data.subarray(0, room) : data
    this.taken[stream] += kept.byteLength
    const event = { type: 'chunk', stream, data: Uint8Array.from(kept) } as const
    this.replay.push(event)
    this.replayBytes += kept.byteLength
    while (this.replayBytes > this.maxReplayBytes && this.replay.length > 0) {
      const dropped = this.replay.shift()!
      this.replayBytes -= dropped.data.byteLength
      this.replayDropped += dropped.data.byteLength
    }
    for (const subscriber of this.subscribers) this.enqueue(subscriber, event)
  }

  end(status: Record<string, unknown>): void {
    if (this.endEvent) return
    this.endEvent = { type: 'end', status }
    for (const subscriber of this.subscribers) this.enqueue(subscriber, this.endEvent)
  }

  /** Replay, live chunks, then the end event; stops early when `signal` aborts. */
  async *subscribe(signal?: AbortSignal): AsyncGenerator<LogEvent> {
    const subscriber: Subscriber = { queue: [], queuedBytes: 0, frontGap: this.replayDropped, wake: undefined }
    for (const event of this.replay) this.enqueue(subscriber, event)
    if (this.endEvent) this.enqueue(subscriber, this.endEvent)
    this.subscribers.add(subscriber)
    const onAbort = (): void => subscriber.wake?.()
    signal?.addEventListener('abort', onAbort, { once: true })
    try {
      while (!signal?.aborted) {
        if (subscriber.frontGap > 0) {
          const droppedBytes = subscriber.frontGap
          subscriber.frontGap = 0
          yield { type: 'gap', droppedBytes }
          continue
        }
        const event = subscriber.queue.shift()
        if (event === undefined) {
          await new Promise<void>((resolve) => {
            subscriber.wake = resolve
          })
          subscriber.wake = undefined
          continue
        }
        if (event.type === 'chunk') subscriber.queuedBytes -= event.data.byteLength
        yield event
        if (event.type === 'end') return
      }
    } finally {
      signal?.removeEventListener('abort', onAbort)
      this.subscribers.delete(subscriber)
    }
  }

  private enqueue(subscriber: Subscriber, event: LogEvent): void {
    subscriber.queue.push(event)
    if (event.type === 'chunk') subscriber.queuedBytes += event.data.byteLength
    while (subscriber.queuedBytes > this.maxLagBytes) {
      const index = subscriber.queue.findIndex((queued) => queued.type === 'chunk')
      const dropped = subscriber.queue.splice(index, 1)[0] as Extract<LogEvent, { type: 'chunk' }>
      subscriber.queuedBytes -= dropped.data.byteLength
      subscriber.frontGap += dropped.data.byteLength
    }
    subscriber.wake?.()
  }
}
