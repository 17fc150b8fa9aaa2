// Bytes appended one chunk after another into a single buffer that doubles as it fills (up to a
// limit). A job's output arrives in chunks as small as a byte: kept as a list, millions of tiny
// Buffers would cost far more memory than the bytes themselves. Views of what is already there stay
// valid while more is appended (growing moves the bytes to a new buffer, the old one stays as is).
// Past a megabyte it stops doubling and takes all it may need at once: fresh pages are backed only
// as they are written (reused memory may be backed already: see compacted()), and no append copies
// megabytes (each doubling to 5-10 MiB copied, and faulted in, tens of milliseconds of the event
// loop's time on a slow host).

/** The first allocation; most jobs print less. */
const initialBytes = 4096
/** Beyond this, grow straight to the limit (or by at least `reserveBytes`, for very large limits). */
const doublingBytes = 1024 * 1024
const reserveBytes = 16 * 1024 * 1024

export class GrowingBuffer {
  readonly #limit: number
  #buffer: Buffer = Buffer.alloc(0)
  #length = 0

  /** `limit`: the most bytes it will ever hold (appends beyond it are the caller's to refuse). */
  constructor(limit: number) {
    this.#limit = limit
  }

  /** A full buffer over bytes that already exist (no copy): views of it are views of them. */
  static over(bytes: Buffer): GrowingBuffer {
    const full = new GrowingBuffer(bytes.length)
    full.#buffer = bytes
    full.#length = bytes.length
    return full
  }

  get length(): number {
    return this.#length
  }

  /** Copies `data` in (the producer may reuse its memory). */
  append(data: Uint8Array): void {
    const needed = this.#length + data.length
    if (needed > this.#limit) throw new RangeError(`GrowingBuffer: ${needed} bytes exceed the limit of ${this.#limit}`)
    if (needed > this.#buffer.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.#limit, Math.max(needed, needed > doublingBytes ? reserveBytes : initialBytes, this.#buffer.length * 2)))
      this.#buffer.copy(grown, 0, 0, this.#length)
      this.#buffer = grown
    }
    this.#buffer.set(data, this.#length)
    this.#length = needed
  }

  /**
   * All the bytes, in memory no more than about twice their size: where the buffer took its limit at
   * once and holds far less, they are copied out (once, at most half the limit). For what is kept
   * long after the writing ends (a finished job's log, kept for an hour): the allocator may have
   * backed the reserve's pages already, reusing memory, so an unwritten reserve is not free.
   */
  compacted(): Buffer {
    return this.#buffer.length > 2 * this.#length + initialBytes ? Buffer.from(this.view()) : this.view()
  }

  /** The bytes from `start` to `end` (default: all), without a copy. */
  view(start = 0, end = this.#length): Buffer {
    return this.#buffer.subarray(start, end)
  }
}
