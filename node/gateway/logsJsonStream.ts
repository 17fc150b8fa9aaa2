// The JSON body of GET /logs/:id, encoded piece by piece as the client reads it. Output of control
// bytes grows six times in JSON (`\u0001`), so 2 x 10 MiB of logs would be a 120 MiB string per
// request; streamed, a reader that does not read holds the service's memory to one piece. The bytes
// are exactly those of JSON.stringify(fields) with each Buffer decoded as UTF-8. The plain-text body
// is paced the same way.
import { Readable } from 'node:stream'
import { utf8Boundary } from './utf8Boundary.ts'

/** Input bytes encoded per piece: at most ~6x this is buffered per reader. */
const pieceBytes = 16 * 1024
/**
 * What one reader is given between two turns of the event loop. A socket takes as much as the
 * kernel buffers (megabytes, for a client that has not read yet): without a turn between, a few such
 * readers held the loop for tens of milliseconds, encoding and copying in one go.
 */
const charactersPerTurn = 256 * 1024

/** The pieces, with a turn of the event loop after every `charactersPerTurn` of them. */
async function* paced(pieces: Iterable<string | Buffer>): AsyncGenerator<string | Buffer> {
  let sinceTurn = 0
  for (const piece of pieces) {
    yield piece
    sinceTurn += piece.length
    if (sinceTurn >= charactersPerTurn) {
      sinceTurn = 0
      await new Promise((resolve) => setImmediate(resolve))
    }
  }
}

/** JSON string contents (no quotes) of `bytes` decoded as UTF-8, a piece at a time. */
function* encodedPieces(bytes: Buffer): Generator<string> {
  for (let start = 0; start < bytes.length; ) {
    let end = utf8Boundary(bytes, start + pieceBytes)
    // A cut can only move back by up to three bytes: never to the start of the piece.
    if (end <= start) end = Math.min(bytes.length, start + pieceBytes)
    const json = JSON.stringify(bytes.toString('utf8', start, end))
    yield json.slice(1, -1)
    start = end
  }
}

/**
 * A stream of `JSON.stringify(fields)` where Buffer values are written as UTF-8-decoded strings,
 * produced only as fast as the consumer reads.
 */
export function logsJsonStream(fields: Record<string, string | boolean | number | Buffer>): Readable {
  function* pieces(): Generator<string> {
    let separator = '{'
    for (const [key, value] of Object.entries(fields)) {
      if (!Buffer.isBuffer(value)) {
        yield `${separator}${JSON.stringify(key)}:${JSON.stringify(value)}`
      } else {
        yield `${separator}${JSON.stringify(key)}:"`
        yield* encodedPieces(value)
        yield '"'
      }
      separator = ','
    }
    yield separator === '{' ? '{}' : '}'
  }
  return Readable.from(paced(pieces()), { objectMode: false, highWaterMark: pieceBytes })
}

/** The logs as plain text (stdout, then stderr), in views of the job's buffers, paced likewise. */
export function logsTextStream(parts: Buffer[]): Readable {
  function* views(): Generator<Buffer> {
    for (const part of parts) for (let start = 0; start < part.length; start += 4 * pieceBytes) yield part.subarray(start, start + 4 * pieceBytes)
  }
  return Readable.from(paced(views()), { objectMode: false, highWaterMark: pieceBytes })
}
