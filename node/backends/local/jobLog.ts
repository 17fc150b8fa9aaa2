// A job's live output: keeps what was written (up to a cap per stream, for replay and /logs) and
// fans new chunks out to subscribers. Subscribers are called synchronously and must not block;
// the WebSocket layer decides what to do with a viewer that cannot keep up.
// Each stream is kept in one buffer that grows by doubling, and snapshots and replays are views of
// it: however many clients read a running job's logs at once, none of them costs a copy.
import { GrowingBuffer } from '../../../sandbox/growingBuffer.ts'
export type OutputStreamName = 'stdout' | 'stderr'

export type LogChunk = { stream: OutputStreamName; data: Buffer }

export type JobLogSnapshot = { stdout: Buffer; stderr: Buffer; stdoutTruncated: boolean; stderrTruncated: boolean }

export type JobLogOptions = {
  /** Bytes kept per stream; later output is dropped from the replay and marked truncated. */
  captureBytes: number
}

/**
 * Chunk records kept for the replay. Beyond this, output extends its stream's latest record: the
 * replay then interleaves stdout and stderr more coarsely, but a job writing a byte at a time to
 * both cannot make the service keep millions of records.
 */
const maxRecords = 65_536

export class JobLog {
  readonly #captureBytes: number
  readonly #streams: Record<OutputStreamName, GrowingBuffer>
  /** Chunks in the order they arrived, as offsets into their stream (views are made on demand). */
  readonly #chunks: Array<{ stream: OutputStreamName; start: number; end: number }> = []
  readonly #latest: Record<OutputStreamName, { stream: OutputStreamName; start: number; end: number } | null> = { stdout: null, stderr: null }
  readonly #truncated = { stdout: false, stderr: false }
  readonly #listeners = new Set<(chunk: LogChunk) => void>()
  #final: JobLogSnapshot | null = null
  /** The job's data was deleted: output still arriving from its last moments is dropped. */
  #cleared = false

  constructor({ captureBytes }: JobLogOptions) {
    this.#captureBytes = captureBytes
    this.#streams = { stdout: new GrowingBuffer(captureBytes), stderr: new GrowingBuffer(captureBytes) }
  }

  append(stream: OutputStreamName, data: Buffer): void {
    if (this.#cleared) return
    const kept = this.#streams[stream]
    const room = this.#captureBytes - kept.length
    if (room <= 0) {
      this.#truncated[stream] = true
      return
    }
    const accepted = data.length > room ? data.subarray(0, room) : data
    if (accepted.length < data.length) this.#truncated[stream] = true
    const start = kept.length
    // Copied in: the producer may reuse its buffer.
    kept.append(accepted)
    const latest = this.#latest[stream]
    // Consecutive output of one stream is one record (and so is everything past the record cap).
    if (latest && (latest === this.#chunks.at(-1) || this.#chunks.length >= maxRecords)) {
      latest.end = kept.length
    } else {
      const record = { stream, start, end: kept.length }
      this.#chunks.push(record)
      this.#latest[stream] = record
    }
    if (this.#listeners.size === 0) return
    const chunk = { stream, data: kept.view(start) }
    for (const listener of this.#listeners) listener(chunk)
  }

  /** Replaces the live capture with the authoritative result once the job has finished. */
  settle(stdout: Buffer, stderr: Buffer, stdoutTruncated: boolean, stderrTruncated: boolean): void {
    const live = this.#streams.stdout.view()
    const liveErr = this.#streams.stderr.view()
    // Viewers already saw the live chunks; send only what the live feed missed (e.g. a fake sandbox
    // or a backend that reports output only at the end).
    if (stdout.length > live.length && stdout.subarray(0, live.length).equals(live)) this.append('stdout', stdout.subarray(live.length))
    if (stderr.length > liveErr.length && stderr.subarray(0, liveErr.length).equals(liveErr)) this.append('stderr', stderr.subarray(liveErr.length))
    // Where the live copy is the final output, keep one of them: the replay reads the final bytes.
    if (this.#streams.stdout.view().equals(stdout)) this.#streams.stdout = GrowingBuffer.over(stdout)
    if (this.#streams.stderr.view().equals(stderr)) this.#streams.stderr = GrowingBuffer.over(stderr)
    this.#final = { stdout, stderr, stdoutTruncated, stderrTruncated }
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

  replay(): LogChunk[] {
    return this.#chunks.map(({ stream, start, end }) => ({ stream, data: this.#streams[stream].view(start, end) }))
  }

  subscribe(listener: (chunk: LogChunk) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Frees the memory once the job's data is deleted. */
  clear(): void {
    this.#cleared = true
    this.#chunks.length = 0
    this.#latest.stdout = null
    this.#latest.stderr = null
    this.#streams.stdout = new GrowingBuffer(0)
    this.#streams.stderr = new GrowingBuffer(0)
    this.#listeners.clear()
    this.#final = null
  }
}
