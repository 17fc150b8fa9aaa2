// A job's live output: keeps what was written (the first `captureBytes` of each stream, the one
// truncation rule of every mode) and fans new entries out to subscribers. Whatever is cut is said
// in the log itself: a `truncated` entry when a stream reaches the cap, a `gap` entry when a relay
// lost bytes, so no viewer sees output stop or resume mid-line without being told. Subscribers are
// called synchronously and must not block; the WebSocket layer decides what to do with a slow viewer.
import type { JobLogEntry } from '../jobBackend.ts'

export type OutputStreamName = 'stdout' | 'stderr'

export type LogEntry = JobLogEntry

export type JobLogSnapshot = { stdout: Buffer; stderr: Buffer; stdoutTruncated: boolean; stderrTruncated: boolean }

export type JobLogOptions = {
  /** Bytes kept per stream; later output is dropped and marked truncated. */
  captureBytes: number
}

export class JobLog {
  readonly #captureBytes: number
  readonly #entries: LogEntry[] = []
  readonly #kept = { stdout: 0, stderr: 0 }
  readonly #truncated = { stdout: false, stderr: false }
  readonly #listeners = new Set<(entry: LogEntry) => void>()
  #gaps = false
  #final: JobLogSnapshot | null = null

  constructor({ captureBytes }: JobLogOptions) {
    this.#captureBytes = captureBytes
  }

  get captureBytes(): number {
    return this.#captureBytes
  }

  append(stream: OutputStreamName, data: Buffer): void {
    if (this.#truncated[stream] || data.length === 0) return
    const room = this.#captureBytes - this.#kept[stream]
    const kept = data.length > room ? data.subarray(0, room) : data
    // Copy: the producer may reuse its buffer.
    if (kept.length > 0) this.#push({ type: 'output', stream, data: Buffer.from(kept) })
    this.#kept[stream] += kept.length
    if (kept.length < data.length) this.markTruncated(stream)
  }

  /** The stream went past the cap where it was captured (a worker's sandbox): say so once. */
  markTruncated(stream: OutputStreamName): void {
    if (this.#truncated[stream]) return
    this.#truncated[stream] = true
    this.#push({ type: 'truncated', stream, capBytes: this.#captureBytes })
  }

  /** A relay lost `droppedBytes` between the producer and this log. */
  markGap(droppedBytes: number): void {
    if (droppedBytes <= 0) return
    this.#gaps = true
    this.#push({ type: 'gap', droppedBytes })
  }

  /** Replaces the live capture with the authoritative result once the job has finished. */
  settle(stdout: Buffer, stderr: Buffer, stdoutTruncated: boolean, stderrTruncated: boolean): void {
    // Viewers already saw the live output; send only what the live feed missed (a backend that
    // reports output only at the end). After a gap the live copy is no prefix: viewers were told.
    for (const [stream, final] of [['stdout', stdout], ['stderr', stderr]] as const) {
      const live = this.#streamBytes(stream)
      if (!this.#gaps && final.length > live.length && final.subarray(0, live.length).equals(live)) this.append(stream, final.subarray(live.length))
    }
    if (stdoutTruncated) this.markTruncated('stdout')
    if (stderrTruncated) this.markTruncated('stderr')
    this.#final = { stdout, stderr, stdoutTruncated, stderrTruncated }
  }

  snapshot(): JobLogSnapshot {
    if (this.#final) return this.#final
    return { stdout: this.#streamBytes('stdout'), stderr: this.#streamBytes('stderr'), stdoutTruncated: this.#truncated.stdout, stderrTruncated: this.#truncated.stderr }
  }

  replay(): LogEntry[] {
    return this.#entries.slice()
  }

  subscribe(listener: (entry: LogEntry) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Frees the memory once the job's data is deleted. */
  clear(): void {
    this.#entries.length = 0
    this.#listeners.clear()
    this.#final = null
  }

  #push(entry: LogEntry): void {
    this.#entries.push(entry)
    for (const listener of this.#listeners) listener(entry)
  }

  #streamBytes(stream: OutputStreamName): Buffer {
    return Buffer.concat(this.#entries.flatMap((e) => (e.type === 'output' && e.stream === stream ? [e.data] : [])))
  }
}
