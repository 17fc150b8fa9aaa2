// A job's live output: keeps what was written (up to a cap per stream, for replay and /logs) and
// fans new chunks out to subscribers. Subscribers are called synchronously and must not block;
// the WebSocket layer decides what to do with a viewer that cannot keep up.
export type OutputStreamName = 'stdout' | 'stderr'

export type LogChunk = { stream: OutputStreamName; data: Buffer }

export type JobLogSnapshot = { stdout: Buffer; stderr: Buffer; stdoutTruncated: boolean; stderrTruncated: boolean }

export type JobLogOptions = {
  /** Bytes kept per stream; later output is dropped from the replay and marked truncated. */
  captureBytes: number
}

export class JobLog {
  readonly #captureBytes: number
  readonly #chunks: LogChunk[] = []
  readonly #kept = { stdout: 0, stderr: 0 }
  readonly #truncated = { stdout: false, stderr: false }
  readonly #listeners = new Set<(chunk: LogChunk) => void>()
  #final: JobLogSnapshot | null = null

  constructor({ captureBytes }: JobLogOptions) {
    this.#captureBytes = captureBytes
  }

  append(stream: OutputStreamName, data: Buffer): void {
    const room = this.#captureBytes - this.#kept[stream]
    if (room <= 0) {
      this.#truncated[stream] = true
      return
    }
    const kept = data.length > room ? data.subarray(0, room) : data
    if (kept.length < data.length) this.#truncated[stream] = true
    // Copy: the producer may reuse its buffer.
    const chunk = { stream, data: Buffer.from(kept) }
    this.#kept[stream] += kept.length
    this.#chunks.push(chunk)
    for (const listener of this.#listeners) listener(chunk)
  }

  /** Replaces the live capture with the authoritative result once the job has finished. */
  settle(stdout: Buffer, stderr: Buffer, stdoutTruncated: boolean, stderrTruncated: boolean): void {
    const live = Buffer.concat(this.#chunks.filter((c) => c.stream === 'stdout').map((c) => c.data))
    const liveErr = Buffer.concat(this.#chunks.filter((c) => c.stream === 'stderr').map((c) => c.data))
    // Viewers already saw the live chunks; send only what the live feed missed (e.g. a fake sandbox
    // or a backend that reports output only at the end).
    if (stdout.length > live.length && stdout.subarray(0, live.length).equals(live)) this.append('stdout', stdout.subarray(live.length))
    if (stderr.length > liveErr.length && stderr.subarray(0, liveErr.length).equals(liveErr)) this.append('stderr', stderr.subarray(liveErr.length))
    this.#final = { stdout, stderr, stdoutTruncated, stderrTruncated }
  }

  snapshot(): JobLogSnapshot {
    if (this.#final) return this.#final
    const pick = (stream: OutputStreamName) => Buffer.concat(this.#chunks.filter((c) => c.stream === stream).map((c) => c.data))
    return {
      stdout: pick('stdout'),
      stderr: pick('stderr'),
      stdoutTruncated: this.#truncated.stdout,
      stderrTruncated: this.#truncated.stderr,
    }
  }

  replay(): LogChunk[] {
    return this.#chunks.slice()
  }

  subscribe(listener: (chunk: LogChunk) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /** Frees the memory once the job's data is deleted. */
  clear(): void {
    this.#chunks.length = 0
    this.#listeners.clear()
    this.#final = null
  }
}
