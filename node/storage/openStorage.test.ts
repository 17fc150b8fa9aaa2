import { mkdir, mkdtemp, readdir, rm, statfs, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openStorage, StorageError } from './openStorage.ts'

const tmpfsMagic = 0x01021994
// A directory on a disk to be refused: the OS temp dir, or this checkout when /tmp is tmpfs too.
const diskBase = await (async () => {
  for (const base of [tmpdir(), process.cwd()]) if ((await statfs(base)).type !== tmpfsMagic) return base
  return null
})()

const roots: string[] = []
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })))
})

async function root(base: string): Promise<string> {
  const dir = await mkdtemp(path.join(base, 'sandrun-storage-test-'))
  roots.push(dir)
  return dir
}

describe('tmpfs job storage', () => {
  it.skipIf(diskBase === null)('refuses a directory on disk unless told otherwise, naming the option to change (skipped: no disk-backed directory here)', async () => {
    const onDisk = await root(diskBase!)
    const refusal = await openStorage({ root: onDisk, requireTmpfs: true, flag: '--scratch-dir' }).catch((error: unknown) => error)
    expect(refusal).toBeInstanceOf(StorageError)
    expect((refusal as StorageError).message).toMatch(/--scratch-dir.*--allow-disk-storage/)
    expect((await openStorage({ root: onDisk, requireTmpfs: false })).onTmpfs).toBe(false)
  })

  it('empties what a killed process left and keeps what is not job data', async () => {
    const dir = await root('/dev/shm')
    const left = path.join(dir, `j${'ab'.repeat(16)}`)
    await mkdir(left)
    await writeFile(path.join(left, 'out.txt'), 'a job output')
    await writeFile(path.join(dir, 'worker-key.json'), '{}')
    const storage = await openStorage({ root: dir, requireTmpfs: true })
    expect(storage.onTmpfs).toBe(true)
    expect(await readdir(dir)).toEqual(['worker-key.json'])
    const job = storage.createJobDir()
    await writeFile(path.join(job, 'x'), 'y')
    await storage.removeJobDir(job)
    expect(await readdir(dir)).toEqual(['worker-key.json'])
  })

  it('close() removes an empty root and leaves one that holds other files', async () => {
    const shm = await root('/dev/shm')
    const scratch = await openStorage({ root: path.join(shm, 'scratch'), requireTmpfs: true })
    await scratch.close()
    expect(await readdir(shm)).toEqual([])
    await writeFile(path.join(shm, 'worker-key.json'), '{}')
    const data = await openStorage({ root: shm, requireTmpfs: true })
    await data.close()
    expect(await readdir(shm)).toEqual(['worker-key.json'])
  })
})
