// A job's captured output: kept whole up to the limit, views stay valid, and past a megabyte the
// bytes are never moved again (each move copied, and faulted in, megabytes on the event loop).
import { describe, expect, it } from 'vitest'
import { GrowingBuffer } from './growingBuffer.ts'

describe('GrowingBuffer', () => {
  it('keeps every byte appended, in order, up to its limit', () => {
    const kept = new GrowingBuffer(100_000)
    const written: Buffer[] = []
    for (let i = 0; i < 1000; i++) {
      const piece = Buffer.alloc((i % 97) + 1, i & 0xff)
      kept.append(piece)
      written.push(piece)
    }
    expect(kept.view().equals(Buffer.concat(written))).toBe(true)
    expect(() => kept.append(Buffer.alloc(100_000))).toThrow(RangeError)
  })

  it('does not move what it holds once past a megabyte, up to a 10 MiB limit', () => {
    const limit = 10 * 1024 * 1024
    const kept = new GrowingBuffer(limit)
    const chunk = Buffer.alloc(64 * 1024, 7)
    while (kept.length <= 1024 * 1024) kept.append(chunk)
    const early = kept.view(0, 16)
    while (kept.length + chunk.length <= limit) kept.append(chunk)
    // Same memory: a view taken at 1 MiB and one taken at the end share their bytes.
    expect(kept.view(0, 16).buffer === early.buffer).toBe(true)
    expect(kept.length).toBe(limit)
    expect(kept.view().every((byte) => byte === 7)).toBe(true)
  })
})
