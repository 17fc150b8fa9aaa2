// Keeps the first `cap` bytes of a stream and counts the rest, so a job printing gigabytes costs
// the host no memory while the job itself is never blocked on a full pipe.

export type OutputCapture = {
  push(chunk: Buffer): void
  readonly truncated: boolean
  buffer(): Buffer
}

export function createOutputCapture(cap: number): OutputCapture {
  const chunks: Buffer[] = []
  let kept = 0
  let dropped = 0
  return {
    push(chunk) {
      const room = cap - kept
      if (room <= 0) {
        dropped += chunk.length
        return
      }
      const piece = chunk.length <= room ? chunk : chunk.subarray(0, room)
      chunks.push(piece)
      kept += piece.length
      dropped += chunk.length - piece.length
    },
    get truncated() {
      return dropped > 0
    },
    buffer() {
      return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, kept)
    },
  }
}
