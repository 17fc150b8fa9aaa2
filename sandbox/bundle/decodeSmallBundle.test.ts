import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync, gzipSync } from 'node:zlib'
import * as tar from 'tar-stream'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { decodeSmallBundle } from './decodeSmallBundle.ts'
import { packFiles } from './packFiles.ts'

const cap = 1024 * 1024

/** A gzip tar with exactly these headers, written by tar-stream (which picks ustar or pax per entry). */
async function gzTar(entries: Array<{ header: Partial<tar.Header> & { name: string }; content?: string }>): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer)
  })
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()))
  for (const { header, content } of entries) pack.entry(header, content ?? '')
  pack.finalize()
  await ended
  return gzipSync(Buffer.concat(chunks))
}

/** What the streaming reader sees: tar-stream's headers (the fields the checks read) and bodies. */
async function tarStreamEntries(bundle: Buffer): Promise<unknown[]> {
  const extract = tar.extract()
  extract.end(gunzipSync(bundle))
  const entries: unknown[] = []
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    const { name, type, size, mode, linkname } = entry.header
    entries.push({ header: { name, type, size, mode, linkname }, content: Buffer.concat(chunks) })
  }
  return entries
}

let project: string

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'sandrun-decode-'))
  await mkdir(join(project, 'src/deep'), { recursive: true })
  await writeFile(join(project, 'src/main.py'), 'print("hi")\n')
  await writeFile(join(project, 'src/deep/data.bin'), Buffer.alloc(1500, 7))
  await writeFile(join(project, 'run.sh'), 'echo hi\n', { mode: 0o755 })
  await writeFile(join(project, 'empty'), '')
  await symlink('src/main.py', join(project, 'current'))
})

afterAll(async () => {
  await rm(project, { recursive: true, force: true })
})

describe('decodeSmallBundle', () => {
  it('reads bundles exactly as the streaming tar parser does', async () => {
    const corpus: Record<string, Buffer> = {
      packFiles: await packFiles({ 'main.py': 'print(1)', 'run.sh': { content: 'echo', mode: 0o755 }, 'data/': '', 'l': { symlink: 'main.py' } }),
      crafted: await gzTar([
        { header: { name: './src/', type: 'directory', mode: 0o700 } },
        { header: { name: './src/main.py', mode: 0o600 }, content: 'print("hi")\n' },
        { header: { name: 'copy.py', type: 'link', linkname: 'src/main.py' } },
        { header: { name: 'up', type: 'symlink', linkname: '../outside' } },
        { header: { name: 'old-style-dir/' }, content: '' },
        { header: { name: `${'p'.repeat(120)}/in-the-ustar-prefix.txt` }, content: 'prefix' },
        { header: { name: 'a.txt' }, content: 'old' },
        { header: { name: 'a.txt' }, content: 'new' },
      ]),
      gnuTar: execFileSync('tar', ['--format=gnu', '-czf', '-', '-C', project, '.']),
      ustarTar: execFileSync('tar', ['--format=ustar', '-czf', '-', '-C', project, '.']),
      trailingZeros: Buffer.concat([await packFiles({ 'a.sh': 'echo a' }), Buffer.alloc(64)]),
    }
    for (const [name, bundle] of Object.entries(corpus)) {
      const decoded = decodeSmallBundle(bundle, cap)
      expect(decoded, name).not.toBeNull()
      expect(decoded, name).toEqual(await tarStreamEntries(bundle))
    }
  })

  it('leaves whatever it does not read exactly like tar-stream to the streaming reader', async () => {
    const tarBytes = gunzipSync(await packFiles({ 'a.txt': 'a'.repeat(5000) }))
    const declined: Record<string, Buffer> = {
      paxLongName: await gzTar([{ header: { name: `${'d'.repeat(120)}/${'f'.repeat(200)}.txt` }, content: 'pax' }]),
      gnuLongName: execFileSync('tar', ['--format=gnu', '-czf', '-', '-C', project, '--transform', `s,^./run.sh,./${'r'.repeat(150)},`, '.']),
      device: await gzTar([{ header: { name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 } }]),
      notGzip: Buffer.from('just some text'),
      empty: Buffer.alloc(0),
      notTar: gzipSync(Buffer.alloc(4096, 'garbage ')),
      cutInEntry: gzipSync(tarBytes.subarray(0, 2048)),
      partialBlock: gzipSync(tarBytes.subarray(0, tarBytes.length - 100)),
      trailingGarbage: gzipSync(Buffer.concat([tarBytes, Buffer.alloc(512, 'x')])),
      overCap: await packFiles({ 'big.bin': Buffer.alloc(cap + 1) }),
    }
    for (const [name, bundle] of Object.entries(declined)) expect(decodeSmallBundle(bundle, cap), name).toBeNull()
  })
})
