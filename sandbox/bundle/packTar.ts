// Writes a gzip tar from a list of entries, deterministically: fixed mtime, uid/gid 0 and no
// owner names, so packing the same files twice gives the same bytes (and the same spec hash).
import { once } from 'node:events'
import { createGzip } from 'node:zlib'
import * as tar from 'tar-stream'

export type PackEntry =
  | { type: 'file'; name: string; mode: number; content: () => Promise<Uint8Array> | Uint8Array }
  | { type: 'directory'; name: string }
  | { type: 'symlink'; name: string; target: string }

const epoch = new Date(0)

export async function packTar(entries: Iterable<PackEntry>): Promise<Buffer> {
  const pack = tar.pack()
  const gzip = createGzip()
  const chunks: Buffer[] = []
  gzip.on('data', (chunk: Buffer) => chunks.push(chunk))
  const ended = once(gzip, 'end')
  pack.on('data', (chunk: unknown) => {
    gzip.write(chunk as Buffer)
  })
  pack.on('end', () => gzip.end())
  pack.on('error', (error: Error) => gzip.destroy(error))

  const owner = { uid: 0, gid: 0, uname: '', gname: '', mtime: epoch }
  for (const entry of entries) {
    switch (entry.type) {
      case 'file': {
        const content = await entry.content()
        await addEntry(pack, { ...owner, name: entry.name, type: 'file', mode: entry.mode }, content)
        break
      }
      case 'directory':
        await addEntry(pack, { ...owner, name: entry.name, type: 'directory', mode: 0o755 })
        break
      case 'symlink':
        await addEntry(pack, { ...owner, name: entry.name, type: 'symlink', mode: 0o777, linkname: entry.target })
        break
    }
  }
  pack.finalize()
  await ended
  return Buffer.concat(chunks)
}

function addEntry(pack: tar.Pack, header: tar.Header | (Partial<tar.Header> & { name: string }), content?: Uint8Array) {
  return new Promise<void>((resolve, reject) => {
    const done = (error?: Error | null) => (error ? reject(error) : resolve())
    if (content) pack.entry(header, content, done)
    else pack.entry(header, done)
  })
}
