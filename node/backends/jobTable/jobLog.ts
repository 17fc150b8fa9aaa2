// A job's live output: keeps what was written (the first `captureBytes` of each stream, the one
// truncation rule of every mode) and fans new entries out to subscribers. Whatever is cut is said
// in the log itself: a `truncated` entry when a stream reaches the cap, a `gap` entry when a relay
// lost bytes, so no viewer sees output stop or resume mid-line without being told. Subscribers are
// called synchronously and must not block; the WebSocket layer decides what to do with a slow viewer.
// Each stream is kept in one buffer that grows by doubling, and snapshots and replays are views of
// it: however many clients read a running job's logs at once, none of them costs a copy.
import { GrowingBuffer } from '../../../sandbox/index.ts'
import type { JobLogEntry } from '../jobBackend.ts'
import type { OutputStream } from '../../../verifier/index.ts'

export type LogEntry = JobLogEntry

export type JobLogSnapshot = { stdout: Buffer; stderr: Buffer; stdoutTruncated: boolean; stderrTruncated: boolean }

export type JobLogOptions = {
  /** Bytes kept per stream; output beyond is dropped and the stream marked truncated. */
  captureBytes: number
}

/**
 * Records kept for the replay. Beyond this, output extends its stream's latest record: the replay
 * then interleaves stdout and stderr more coarsely, but a job writing a byte at a time to both
 * cannot make the service keep millions of records.
 */
const maxRecords = 65_536

/** Output records are offsets into their stream's buffer (views are made on demand). */
type LogRecord =
  | { type: 'output'; stream: OutputStream; start: number; end: number }
  | Exclude<LogEntry, { type: 'output' }>

export class JobLog {
  readonly #captureBytes: number
  #streams: Record<OutputStream, GrowingBuffer>
  readonly #records: LogRecord[] = []
  readonly #latest: Record<OutputStream, Extract<LogRecord, { type: 'output' }> | null> = { stdout: null, stderr: null }
  readonly #truncated = { stdout: false, stderr: false }
  readonly #listeners = new Set<(entry: LogEntry) => void>()
  #gaps = false
  #final: JobLogSnapshot | null = null
  /** The job's data was deleted: output still arriving from its last moments is dropped. */
  #cleared = false

  constructor({ captureBytes }: JobLogOptions) {
    this.#captureBytes = captureBytes
    this.#streams = { stdout: new GrowingBuffer(captureBytes), stderr: new GrowingBuffer(captureBytes) }
  }

  get captureBytes(): number {
    return this.#captureBytes
  }

  append(stream: OutputStream, data: Buffer): void {
    if (this.#cleared || this.#truncated[stream] || data.length === 0) return
    const kept = this.#streams[stream]
    const room = this.#captureBytes - kept.length
    const accepted = data.length > room ? data.subarray(0, room) : data
    if (accepted.length > 0) {
      const start = kept.length
      // Copied in: the producer may reuse its buffer.
      kept.append(accepted)
      const latest = this.#latest[stream]
      // Consecutive output of one stream is one record (and so is everything past the record cap).
      if (latest && (latest === this.#records.at(-1) || this.#records.length >= maxRecords)) {
        latest.end = kept.length
      } else {
        const record = { type: 'output' as const, stream, start, end: kept.length }
        this.#records.push(record)
        this.#latest[stream] = record
      }
      this.#notify({ type: 'output', stream, data: kept.view(start) })
    }
    if (accepted.length < data.length) this.markTruncated(stream)
  }

  /** The stream went past the cap where it was captured (a worker's sandbox): say so once. */
  markTruncated(stream: OutputStream): void {
    if (this.#cleared || this.#truncated[stream]) return
    this.#truncated[stream] = true
    this.#push({ type: 'truncated', stream, capBytes: this.#captureBytes })
  }

  /** A relay lost `droppedBytes` between the producer and this log. */
  markGap(droppedBytes: number): void {
    if (this.#cleared || droppedBytes <= 0) return
    this.#gaps = true
    this.#push({ type: 'gap', droppedBytes })
  }

  /** Replaces the live capture with the authoritative result once the job has finished. */
  settle(stdout: Buffer, stderr: Buffer, stdoutTruncated: boolean, stderrTruncated: boolean): void {
    // Viewers already saw the live output; send only what the live feed missed (a backend that
    // reports output only at the end). After a gap the live copy is no prefix: viewers were told.
    for (const [stream, final] of [['stdout', stdout], ['stderr', stderr]] as const) {
      const live = this.#streams[stream].view()
      if (!this.#gaps && final.length > live.length && final.subarray(0, live.length).equals(live)) this.append(stream, final.subarray(live.length))
    }
    if (stdoutTruncated) this.markTruncated('stdout')
    if (stderrTruncated) this.markTruncated('stderr')
    // Where the live copy is the final output, keep one of them (the replay reads the final bytes), in
    // about its size: a job that printed 1.1 MiB must not keep a 10 MiB reserve for an hour.
    const kept = (stream: OutputStream, final: Buffer): Buffer => {
      if (!this.#streams[stream].view().equals(final)) return final
      const compact = this.#streams[stream].compacted()
      this.#streams[stream] = GrowingBuffer.over(compact)
      return compact
    }
    this.#final = { stdout: kept('stdout', stdout), stderr: kept('stderr', stderr), stdoutTruncated, stderrTruncated }
  }

  snapshot(): JobLogSnapshot {
    if (this.#final) return this.#final
    return {
      stdout: this.#streams.stdout.view(),
      stderr: this.#streams.stderr.view(),
      stdoutTruncated: this.#truncated.stdout,
      stderrTruncated: this.#truncated.stderr,
    }
  }

  replay(): LogEntry[] {
    return this.#records.map((r) => (r.type === 'output' ? { type: 'output', stream: r.stream, data: this.#streams[r.stream].view(r.start, r.end) } : r))
  }

  subscribe(listener: (entry: LogEntry) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** A retry on another worker runs the job again from the start: its output so far goes, subscribers stay. */
  restart(): void {
    if (this.#cleared) return
    this.#records.length = 0
    this.#latest.stdout = null
    this.#latest.stderr = null
    this.#streams = { stdout: new GrowingBuffer(this.#captureBytes), stderr: new GrowingBuffer(this.#captureBytes) }
    this.#truncated.stdout = false
    this.#truncated.stderr = false
    this.#gaps = false
    this.#final = null
  }

  /** Frees the memory once the job's data is deleted. */
  clear(): void {
    this.#cleared = true
    this.#records.length = 0
    this.#latest.stdout = null
    this.#latest.stderr = null
    this.#streams = { stdout: new GrowingBuffer(0), stderr: new GrowingBuffer(0) }
    this.#listeners.clear()
    this.#final = null
  }

  #push(entry: Exclude<LogEntry, { type: 'output' }>): void {
    this.#records.push(entry)
    this.#notify(entry)
  }

  #notify(entry: LogEntry): void {
    for (const listener of this.#listeners) listener(entry)
  }
}
