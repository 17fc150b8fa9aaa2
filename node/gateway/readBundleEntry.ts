// Reads one small file (e.g. job.json) out of a gzip tar without extracting anything to disk.
// Gunzipped bytes and the entry size are capped, so a gzip bomb costs at most those caps.
import { Readable } from 'node:stream'
import { createGunzip } from 'node:zlib'
import tar from 'tar-stream'
import { decodeSmallBundle, smallBundleBytes } from '../../sandbox/bundle/decodeSmallBundle.ts'

export type ReadBundleEntryParameters = {
  bundle: Uint8Array
  /** Entry name relative to the archive root; `./name` matches too. */
  name: string
  maxEntryBytes: number
  /** Stop looking after this many uncompressed bytes. */
  maxScanBytes: number
}

/** The entry's content, or null when the archive has no such regular file (or is not a gzip tar). */
export async function readBundleEntry({ bundle, name, maxEntryBytes, maxScanBytes }: ReadBundleEntryParameters): Promise<Buffer | null> {
  // A small bundle is read whole in one step; the first matching entry wins either way.
  const small = decodeSmallBundle(bundle, Math.min(smallBundleBytes, maxScanBytes))
  if (small) {
    const entry = small.find(({ header }) => isWanted(header, name, maxEntryBytes))
    return entry ? Buffer.from(entry.content) : null
  }
  const gunzip = createGunzip()
  const extract = tar.extract()
  let scanned = 0
  gunzip.on('data', (chunk: Buffer) => {
    scanned += chunk.length
    if (scanned > maxScanBytes) gunzip.destroy(new Error('scan limit'))
  })
  return new Promise<Buffer | null>((resolve) => {
    let settled = false
    const finish = (value: Buffer | null): void => {
      if (settled) return
      settled = true
      gunzip.destroy()
      extract.destroy()
      resolve(value)
    }
    extract.on('entry', (header, stream, next) => {
      if (!isWanted(header, name, maxEntryBytes)) {
        stream.on('end', next)
        stream.resume()
        return
      }
      const chunks: Buffer[] = []
      stream.on('data', (chunk: unknown) => {
        chunks.push(chunk as Buffer)
      })
      stream.on('end', () => finish(Buffer.concat(chunks)))
    })
    extract.on('finish', () => finish(null))
    extract.on('error', () => finish(null))
    gunzip.on('error', () => finish(null))
    Readable.from([Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength)]).pipe(gunzip).pipe(extract)
  })
}

function isWanted(header: Pick<tar.Header, 'name' | 'type' | 'size'>, name: string, maxEntryBytes: number): boolean {
  return header.name.replace(/^\.\//, '') === name && header.type === 'file' && (header.size ?? 0) <= maxEntryBytes
}
