// Streams a job's collected output files as one gzip tar, file by file, so a large result never
// sits in memory. Entries are plain files with fixed metadata (mode 0644, mtime 0, no owner) so
// the same outputs always give the same archive.
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import { createGzip } from 'node:zlib'
import tar from 'tar-stream'

export type OutputArchiveEntry = {
  path: string
  sizeBytes: number
  /** Opens the file for reading (refusing links); called once per entry, in order. */
  open(): Promise<Readable>
}

export type CreateOutputArchiveParameters = {
  entries: OutputArchiveEntry[]
  /** Called once the whole archive was produced (the consumer read it to the end). */
  onComplete?: (() => void) | undefined
}

export function createOutputArchive({ entries, onComplete }: CreateOutputArchiveParameters): Readable {
  const pack = tar.pack()
  const gzip = createGzip()
  const fill = async (): Promise<void> => {
    for (const entry of entries) {
      const source = await entry.open()
      const sink = pack.entry({ name: entry.path, size: entry.sizeBytes, mode: 0o644, mtime: new Date(0), type: 'file' })
      await pipeline(source, sink)
    }
    pack.finalize()
  }
  fill().catch((error: unknown) => pack.destroy(error instanceof Error ? error : new Error(String(error))))
  pack.on('error', (error) => gzip.destroy(error))
  pack.pipe(gzip)
  if (onComplete) gzip.once('end', onComplete)
  return gzip
}
