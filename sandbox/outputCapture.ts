// Keeps the first `cap` bytes of a stream and counts the rest, so a job printing gigabytes costs
// the host no memory while the job itself is never blocked on a full pipe.
import { GrowingBuffer } from './growingBuffer.ts'

export type OutputCapture = {
  push(chunk: Buffer): void
  readonly truncated: boolean
  buffer(): Buffer
}

export function createOutputCapture(cap: number): OutputCapture {
  // One buffer, not a list of chunks: a job writing a byte at a time would otherwise cost a Buffer
  // object per byte.
  const kept = new GrowingBuffer(cap)
  let dropped = 0
  return {
    push(chunk) {
      const room = cap - kept.length
      if (room <= 0) {
        dropped += chunk.length
        return
      }
      const piece = chunk.length <= room ? chunk : chunk.subarray(0, room)
      kept.append(piece)
      dropped += chunk.length - piece.length
    },
    get truncated() {
      return dropped > 0
    },
    buffer() {
      return kept.view()
    },
  }
}
