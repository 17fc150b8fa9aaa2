// Jobs are deleted once all their outputs were downloaded. A file counts as downloaded when all of
// its bytes went to the HTTP reply: the source's own 'end' is not enough, because a client whose
// Content-Length is satisfied may close the connection first, and the source is then destroyed
// before it reports its end (seen with keep-alive clients and small files).
import { type Readable, Transform } from 'node:stream'

/** `source` passed through a counter that calls `onSent` once `sizeBytes` went through it. */
export function whenSent(source: Readable, sizeBytes: number, onSent: () => void): Readable {
  let passed = 0
  let sent = false
  const check = (): void => {
    if (sent || passed < sizeBytes) return
    sent = true
    onSent()
  }
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      passed += chunk.length
      check()
      callback(null, chunk)
    },
    flush(callback) {
      check()
      callback()
    },
  })
  source.once('error', (error) => counter.destroy(error))
  counter.once('close', () => source.destroy())
  return source.pipe(counter)
}
