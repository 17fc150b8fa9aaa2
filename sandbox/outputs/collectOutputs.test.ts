import { createHash } from 'node:crypto'
import { appendFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { collectOutputs } from './collectOutputs.ts'
import { snapshotTree } from './snapshotTree.ts'

let root: string
let work: string
let out: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sandrun-outputs-'))
  work = join(root, 'work')
  out = join(root, 'out')
  await mkdir(join(work, 'results/deep'), { recursive: true })
  await mkdir(out)
  await writeFile(join(root, 'host-secret'), 'host secret')
  await writeFile(join(work, 'main.py'), 'print(1)\n')
  await writeFile(join(work, 'input.csv'), 'a,b\n')
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex')

async function collect(patterns: string[], extra: Partial<Parameters<typeof collectOutputs>[0]> = {}) {
  return collectOutputs({ workDir: work, patterns, outputDir: out, ...extra })
}

describe('collectOutputs with patterns', () => {
  it('copies matching files, sorted, with size and sha256, leaving the originals', async () => {
    await writeFile(join(work, 'results/b.csv'), 'bbb')
    await writeFile(join(work, 'results/deep/a.csv'), 'aa')
    await writeFile(join(work, 'results/notes.txt'), 'n')
    await writeFile(join(work, '.hidden.csv'), 'h')
    const { files, truncated } = await collect(['**/*.csv'])
    expect(truncated).toBeNull()
    expect(files.map((f) => f.path)).toEqual(['.hidden.csv', 'input.csv', 'results/b.csv', 'results/deep/a.csv'])
    const b = files.find((f) => f.path === 'results/b.csv')
    expect(b).toMatchObject({ sizeBytes: 3, sha256: sha256('bbb'), hostPath: join(out, 'results/b.csv') })
    expect(await readFile(join(out, 'results/deep/a.csv'), 'utf8')).toBe('aa')
    expect(await readFile(join(work, 'results/b.csv'), 'utf8')).toBe('bbb')
  })

  it('collects a whole directory named by a pattern', async () => {
    await writeFile(join(work, 'results/x.txt'), 'x')
    await writeFile(join(work, 'results/deep/y.txt'), 'y')
    for (const pattern of ['results', 'results/']) {
      await rm(out, { recursive: true })
      await mkdir(out)
      expect((await collect([pattern])).files.map((f) => f.path)).toEqual(['results/deep/y.txt', 'results/x.txt'])
    }
  })
})

describe('collectOutputs without patterns', () => {
  it('collects only files the job created or changed since the baseline', async () => {
    await writeFile(join(work, 'unchanged.txt'), 'same')
    const baseline = await snapshotTree(work)
    await appendFile(join(work, 'input.csv'), '1,2\n')
    await writeFile(join(work, 'results/new.txt'), 'new')
    const { files } = await collect([], { baseline })
    expect(files.map((f) => f.path)).toEqual(['input.csv', 'results/new.txt'])
    expect(files[0]?.sha256).toBe(sha256('a,b\n1,2\n'))
  })

  it('collects every file when there is no baseline', async () => {
    expect((await collect([])).files.map((f) => f.path)).toEqual(['input.csv', 'main.py'])
  })
})

describe('collectOutputs and symlinks', () => {
  it('does not collect a symlink, even to a host file', async () => {
    await symlink(join(root, 'host-secret'), join(work, 'leak.txt'))
    await symlink('main.py', join(work, 'alias.py'))
    const { files } = await collect(['**'])
    expect(files.map((f) => f.path)).toEqual(['input.csv', 'main.py'])
    expect(await readdir(out)).toEqual(['input.csv', 'main.py'])
  })

  it('does not descend a symlinked directory', async () => {
    await symlink(root, join(work, 'escape'))
    const baseline = await snapshotTree(work)
    expect([...baseline.keys()]).toEqual(['input.csv', 'main.py'])
    const { files } = await collect(['**', 'escape/**'])
    expect(files.map((f) => f.path)).toEqual(['input.csv', 'main.py'])
  })
})

describe('collectOutputs caps', () => {
  beforeEach(async () => {
    for (const name of ['a', 'b', 'c', 'd']) await writeFile(join(work, `results/${name}.bin`), name.repeat(100))
  })

  it('stops at the file cap, in path order, and says so', async () => {
    const { files, truncated } = await collect(['results/*.bin'], { maxFiles: 2 })
    expect(truncated).toBe('maxFiles')
    expect(files.map((f) => f.path)).toEqual(['results/a.bin', 'results/b.bin'])
    expect(await readdir(join(out, 'results'))).toEqual(['a.bin', 'b.bin'])
  })

  it('stops at the byte cap without a partial copy', async () => {
    const { files, truncated } = await collect(['results/*.bin'], { maxTotalBytes: 250 })
    expect(truncated).toBe('maxTotalBytes')
    expect(files.map((f) => f.path)).toEqual(['results/a.bin', 'results/b.bin'])
    expect(await readdir(join(out, 'results'))).toEqual(['a.bin', 'b.bin'])
  })

  it('stops scanning a tree with too many entries', async () => {
    const { truncated } = await collect([], { maxScannedEntries: 3 })
    expect(truncated).toBe('maxScannedEntries')
  })
})
