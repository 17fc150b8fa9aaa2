import { execFileSync } from 'node:child_process'
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import * as tar from 'tar-stream'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { SandboxError, type SandboxErrorCode } from '../errors.ts'
import { extractBundle } from './extractBundle.ts'
import { inspectBundle } from './inspectBundle.ts'
import { packFiles } from './packFiles.ts'

type RawEntry = { header: tar.Header | (Partial<tar.Header> & { name: string }); content?: string | Buffer }

/** An uncompressed tar with exactly the headers given: how hostile archives are built. */
async function rawTar(entries: RawEntry[]): Promise<Buffer> {
  const pack = tar.pack()
  const chunks: Buffer[] = []
  pack.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer)
  })
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()))
  for (const { header, content } of entries)
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve())
      if (content === undefined) pack.entry(header, done)
      else pack.entry(header, content, done)
    })
  pack.finalize()
  await ended
  return Buffer.concat(chunks)
}

const gzTar = async (entries: RawEntry[]) => gzipSync(await rawTar(entries))

/** Just the 512-byte header of an entry, so a huge entry's body can be produced separately. */
async function headerBlock(header: Partial<tar.Header> & { name: string }): Promise<Buffer> {
  const pack = tar.pack()
  const first = new Promise<Buffer>((resolve) => pack.once('data', (chunk: unknown) => resolve(chunk as Buffer)))
  pack.entry(header)
  const block = await first
  pack.destroy()
  return block
}

/**
 * A gzip bomb without the cost of compressing it: gzip members concatenate, so one member of
 * 1 MiB of zeros (about 1 KiB compressed) repeated `mebibytes` times inflates to that many MiB.
 */
async function zeroBomb(declaredSize: number, mebibytes: number): Promise<Buffer> {
  const zeros = gzipSync(Buffer.alloc(1024 * 1024))
  return Buffer.concat([gzipSync(await headerBlock({ name: 'zeros', size: declaredSize })), ...Array(mebibytes).fill(zeros)])
}

let root: string
let target: string
let outside: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sandrun-bundle-'))
  target = join(root, 'job')
  outside = join(root, 'outside')
  await mkdir(target)
  await mkdir(outside)
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

/** Both inspect and extract must refuse, with the code and without leaking host paths. */
async function expectRefused(bundle: Buffer, code: SandboxErrorCode, message: RegExp, limits?: object) {
  await rm(target, { recursive: true })
  await mkdir(target)
  for (const run of [() => inspectBundle(bundle, limits), () => extractBundle({ bundle, targetDir: target, limits })]) {
    const error = await run().then(
      () => null,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(SandboxError)
    expect((error as SandboxError).code).toBe(code)
    expect((error as SandboxError).shortMessage).toMatch(message)
    expect((error as SandboxError).message).not.toContain(root)
  }
  // Nothing escaped the job directory.
  expect(await readdir(outside)).toEqual([])
  expect(await readdir(root)).toEqual(['job', 'outside'])
}

describe('extractBundle', () => {
  it('extracts files, directories and inside links with normalized modes', async () => {
    const bundle = await gzTar([
      { header: { name: './src/', type: 'directory', mode: 0o700 } },
      { header: { name: './src/main.py', mode: 0o600 }, content: 'print("hi")\n' },
      { header: { name: 'run.sh', mode: 0o4777 }, content: 'echo hi\n' },
      { header: { name: 'empty/', type: 'directory' } },
      { header: { name: 'current', type: 'symlink', linkname: 'src/main.py' } },
      { header: { name: 'copy.py', type: 'link', linkname: 'src/main.py' } },
    ])
    const result = await extractBundle({ bundle, targetDir: target })
    expect(result.files).toEqual(['copy.py', 'run.sh', 'src/main.py'])
    expect(result.totalBytes).toBe(20)
    expect(await readFile(join(target, 'src/main.py'), 'utf8')).toBe('print("hi")\n')
    expect(await readFile(join(target, 'copy.py'), 'utf8')).toBe('print("hi")\n')
    expect((await stat(join(target, 'src/main.py'))).mode & 0o7777).toBe(0o644)
    expect((await stat(join(target, 'run.sh'))).mode & 0o7777).toBe(0o755)
    expect((await stat(join(target, 'src'))).mode & 0o7777).toBe(0o755)
    expect((await stat(join(target, 'empty'))).isDirectory()).toBe(true)
    expect(await readlink(join(target, 'current'))).toBe('src/main.py')
  })

  it('inspectBundle reports the same files without writing anything', async () => {
    const bundle = await packFiles({ 'b.txt': 'bb', 'a/x.py': 'x', 'lnk': { symlink: 'b.txt' } })
    expect(await inspectBundle(bundle)).toEqual({ files: ['a/x.py', 'b.txt'], totalBytes: 3, entryCount: 4 })
    expect(await readdir(target)).toEqual([])
  })

  it('handles long names in pax and GNU formats', async () => {
    const longDir = 'd'.repeat(120)
    const longName = `${longDir}/${'f'.repeat(200)}.txt`
    const viaPax = await gzTar([{ header: { name: longName }, content: 'pax' }])
    expect((await extractBundle({ bundle: viaPax, targetDir: target })).files).toEqual([longName])
    expect(await readFile(join(target, longName), 'utf8')).toBe('pax')

    const project = join(root, 'project')
    await mkdir(join(project, longDir), { recursive: true })
    await writeFile(join(project, `${longDir}/gnu-${'g'.repeat(150)}`), 'gnu')
    for (const format of ['gnu', 'posix']) {
      const bundle = execFileSync('tar', [`--format=${format}`, '-czf', '-', '-C', project, '.'])
      expect((await inspectBundle(bundle)).files).toEqual([`${longDir}/gnu-${'g'.repeat(150)}`])
    }
  })

  it('lets a later file entry replace an earlier one, as tar does', async () => {
    const bundle = await gzTar([
      { header: { name: 'a.txt' }, content: 'old' },
      { header: { name: 'a.txt' }, content: 'new' },
    ])
    await extractBundle({ bundle, targetDir: target })
    expect(await readFile(join(target, 'a.txt'), 'utf8')).toBe('new')
  })

  it('never writes through a symlink already in the target directory', async () => {
    await symlink(outside, join(target, 'd'))
    const bundle = await packFiles({ 'd/x.txt': 'x' })
    await expect(extractBundle({ bundle, targetDir: target })).rejects.toMatchObject({ code: 'SANDBOX_FAILED' })
    expect(await readdir(outside)).toEqual([])
  })
})

describe('unsafe entries', () => {
  it('refuses an absolute path', async () => {
    await expectRefused(await gzTar([{ header: { name: '/tmp/evil' }, content: 'x' }]), 'BUNDLE_UNSAFE_ENTRY', /absolute/)
  })

  it('refuses ../x', async () => {
    await expectRefused(await gzTar([{ header: { name: '../outside/x' }, content: 'x' }]), 'BUNDLE_UNSAFE_ENTRY', /\.\./)
  })

  it('refuses a/../../x', async () => {
    await expectRefused(await gzTar([{ header: { name: 'a/../../outside/x' }, content: 'x' }]), 'BUNDLE_UNSAFE_ENTRY', /\.\./)
  })

  it('refuses a symlink to /etc', async () => {
    await expectRefused(
      await gzTar([{ header: { name: 'etc', type: 'symlink', linkname: '/etc' } }]),
      'BUNDLE_UNSAFE_ENTRY',
      /outside the bundle/,
    )
  })

  it('refuses a relative symlink that climbs out', async () => {
    await expectRefused(
      await gzTar([{ header: { name: 'a/up', type: 'symlink', linkname: '../../outside' } }]),
      'BUNDLE_UNSAFE_ENTRY',
      /outside the bundle/,
    )
  })

  it('refuses a symlink chain that escapes although each link looks inside', async () => {
    // `here -> .` is the root; `here/..` is therefore the root's parent, not the root.
    const here = { header: { name: 'here', type: 'symlink' as const, linkname: '.' } }
    const escaping = { header: { name: 'escape', type: 'symlink' as const, linkname: 'here/../outside' } }
    await expectRefused(await gzTar([here, escaping]), 'BUNDLE_UNSAFE_ENTRY', /"escape".*outside the bundle/)
    // Order does not matter: the later link changes where the earlier one points.
    await expectRefused(await gzTar([escaping, here]), 'BUNDLE_UNSAFE_ENTRY', /"escape".*outside the bundle/)
  })

  it('refuses a symlink loop', async () => {
    await expectRefused(
      await gzTar([
        { header: { name: 'a', type: 'symlink', linkname: 'b' } },
        { header: { name: 'b', type: 'symlink', linkname: 'a' } },
      ]),
      'BUNDLE_UNSAFE_ENTRY',
      /loop/,
    )
  })

  it('refuses a file written through an earlier symlink', async () => {
    await expectRefused(
      await gzTar([
        { header: { name: 'link', type: 'symlink', linkname: '/etc' } },
        { header: { name: 'link/passwd' }, content: 'root::0:0::/:/bin/sh\n' },
      ]),
      'BUNDLE_UNSAFE_ENTRY',
      /outside the bundle|symlink/,
    )
    // Even when the link itself would only be judged at the end, the file through it is refused.
    await expectRefused(
      await gzTar([
        { header: { name: 'link', type: 'symlink', linkname: '../outside' } },
        { header: { name: 'link/passwd' }, content: 'x' },
      ]),
      'BUNDLE_UNSAFE_ENTRY',
      /"link\/passwd" lies under "link", which is a symlink/,
    )
  })

  it('refuses a hardlink to /etc/passwd', async () => {
    await expectRefused(
      await gzTar([{ header: { name: 'pw', type: 'link', linkname: '/etc/passwd' } }]),
      'BUNDLE_UNSAFE_ENTRY',
      /hardlink target.*absolute/,
    )
  })

  it('refuses a hardlink to a file not yet extracted', async () => {
    await expectRefused(
      await gzTar([
        { header: { name: 'early', type: 'link', linkname: 'late' } },
        { header: { name: 'late' }, content: 'x' },
      ]),
      'BUNDLE_UNSAFE_ENTRY',
      /not a regular file earlier in the archive/,
    )
  })

  it('refuses a character device', async () => {
    await expectRefused(
      await gzTar([{ header: { name: 'mem', type: 'character-device', devmajor: 1, devminor: 1 } }]),
      'BUNDLE_UNSAFE_ENTRY',
      /character device/,
    )
  })

  it('refuses a block device', async () => {
    await expectRefused(
      await gzTar([{ header: { name: 'sda', type: 'block-device', devmajor: 8, devminor: 0 } }]),
      'BUNDLE_UNSAFE_ENTRY',
      /block device/,
    )
  })

  it('refuses a FIFO', async () => {
    await expectRefused(await gzTar([{ header: { name: 'pipe', type: 'fifo' } }]), 'BUNDLE_UNSAFE_ENTRY', /fifo/)
  })

  it('refuses a name with a NUL byte', async () => {
    await expectRefused(
      await gzTar([{ header: { name: 'a\0b', pax: { comment: 'force pax' } }, content: 'x' }]),
      'BUNDLE_UNSAFE_ENTRY',
      /NUL/,
    )
  })

  it('refuses a name longer than 4096 bytes', async () => {
    const name = `${'n'.repeat(200)}/`.repeat(21)
    await expectRefused(await gzTar([{ header: { name }, content: 'x' }]), 'BUNDLE_UNSAFE_ENTRY', /longer than 4096/)
  })

  it('refuses a path reused with another type', async () => {
    await expectRefused(
      await gzTar([
        { header: { name: 'x/', type: 'directory' } },
        { header: { name: 'x', type: 'symlink', linkname: '.' } },
      ]),
      'BUNDLE_UNSAFE_ENTRY',
      /appears twice/,
    )
  })
})

describe('size caps', () => {
  it('refuses a 1 GiB entry at its header, before inflating its body', async () => {
    await expectRefused(await zeroBomb(2 ** 30, 1024), 'BUNDLE_TOO_LARGE', /more than 100 MiB/)
  })

  it('stops a gzip bomb once the compression ratio is exceeded', async () => {
    const bundle = await zeroBomb(50 * 1024 * 1024, 50)
    const error = (await inspectBundle(bundle).catch((e: unknown) => e)) as SandboxError
    expect(error.code).toBe('BUNDLE_TOO_LARGE')
    expect(error.shortMessage).toMatch(/200 times its compressed size/)
    const inflated = Number(/inflating (\d+) bytes/.exec(error.details ?? '')?.[1])
    // Stopped at about 200 x the ~50 KiB upload, far from the 50 MiB it would inflate to.
    expect(inflated).toBeGreaterThan(200 * bundle.byteLength)
    expect(inflated).toBeLessThan(200 * bundle.byteLength + 1024 * 1024)
    await expectRefused(bundle, 'BUNDLE_TOO_LARGE', /compressed size/)
  })

  it('refuses more entries than allowed', async () => {
    const bundle = await packFiles({ a: '1', b: '2', c: '3', d: '4' })
    await expectRefused(bundle, 'BUNDLE_TOO_LARGE', /more than 3 entries/, { maxEntries: 3 })
    expect((await inspectBundle(bundle, { maxEntries: 4 })).files).toHaveLength(4)
  })

  it('counts the directories that paths imply, before any of them is written', async () => {
    // Ten files 30 levels deep each imply 300 directories: a tiny archive, a huge tree.
    const deep = Array.from({ length: 10 }, (_, i) => ({ header: { name: `${`d${i}/`.repeat(30)}f` }, content: 'x' }))
    const bundle = await gzTar(deep)
    await expectRefused(bundle, 'BUNDLE_TOO_LARGE', /more than 100 entries.*directories its paths imply/, { maxEntries: 100 })
    // Refused at the fourth file's first new directory: three trees at most were written, never ten.
    expect((await readdir(target)).length).toBeLessThanOrEqual(4)
    expect((await inspectBundle(bundle, { maxEntries: 310 })).entryCount).toBe(310)
  })

  it('refuses more bytes than allowed', async () => {
    const bundle = await packFiles({ a: 'x'.repeat(600), b: 'y'.repeat(600) })
    await expectRefused(bundle, 'BUNDLE_TOO_LARGE', /more than 1 KiB/, { maxTotalBytes: 1024 })
  })

  it('refuses a path nested more than 64 deep', async () => {
    await expectRefused(await gzTar([{ header: { name: `${'d/'.repeat(65)}f` }, content: 'x' }]), 'BUNDLE_TOO_LARGE', /66 path components; at most 64/)
  })
})

describe('malformed bundles', () => {
  it('refuses data that is not gzip', async () => {
    await expectRefused(Buffer.from('just some text, not an archive'), 'BUNDLE_INVALID', /not gzip/)
  })

  it('refuses an empty upload', async () => {
    await expectRefused(Buffer.alloc(0), 'BUNDLE_INVALID', /truncated/)
  })

  it('refuses gzip of something that is not a tar', async () => {
    const garbage = Buffer.alloc(4096, 'garbage ')
    await expectRefused(gzipSync(garbage), 'BUNDLE_INVALID', /not a tar archive/)
  })

  it('refuses a truncated gzip stream', async () => {
    const bundle = await packFiles({ 'data.bin': Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7919) % 251)) })
    await expectRefused(bundle.subarray(0, Math.floor(bundle.length / 2)), 'BUNDLE_INVALID', /truncated/)
  })

  it('refuses a tar cut off in the middle of an entry', async () => {
    const tarBytes = await rawTar([{ header: { name: 'a.txt' }, content: 'a'.repeat(5000) }])
    await expectRefused(gzipSync(tarBytes.subarray(0, 2048)), 'BUNDLE_INVALID', /truncated/)
  })
})

describe('extraction leaves the host alone', () => {
  it('creates nothing outside the target even for a mixed hostile archive', async () => {
    const bundle = await gzTar([
      { header: { name: 'ok.txt' }, content: 'fine' },
      { header: { name: 'up', type: 'symlink', linkname: '..' } },
      { header: { name: 'up/outside/pwned' }, content: 'x' },
    ])
    await expectRefused(bundle, 'BUNDLE_UNSAFE_ENTRY', /symlink/)
    expect((await lstat(join(target, 'ok.txt'))).isFile()).toBe(true)
  })
})
