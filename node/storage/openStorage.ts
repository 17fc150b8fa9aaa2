// RAM-backed job storage: one private directory per job under a tmpfs root, named by random bytes
// unrelated to the job id. Job data must never reach a disk, so a root that is not tmpfs is refused
// unless the operator says otherwise.
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { mkdir, readFile, readdir, rm, rmdir } from 'node:fs/promises'
import path from 'node:path'
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type StorageOptions = {
  root: string
  /** Refuse a root that is not on tmpfs (job data would touch a disk). */
  requireTmpfs: boolean
  /** The option that set `root`, named in the refusal (default --data-dir). */
  flag?: string | undefined
}

export type Storage = {
  readonly onTmpfs: boolean
  /** A new empty directory; synchronous, as a mkdir on tmpfs costs less than a thread pool round trip. */
  createJobDir(): string
  removeJobDir(dir: string): Promise<void>
  /** Removes the root when nothing else is in it (a scratch root; a data dir with keys stays). */
  close(): Promise<void>
}

const storageErrorCodes: ErrorCodeTable<'STORAGE_NOT_TMPFS'> = { STORAGE_NOT_TMPFS: hostError }

export class StorageError extends SandrunError<'STORAGE_NOT_TMPFS'> {
  override name = 'StorageError'

  constructor(message: string) {
    super('STORAGE_NOT_TMPFS', message, storageErrorCodes)
  }
}

/** The filesystem type of the mount that holds `dir`, from /proc/mounts (longest matching mount point). */
async function filesystemTypeOf(dir: string): Promise<string | null> {
  const mounts = await readFile('/proc/mounts', 'utf8').catch(() => '')
  let best: { point: string; type: string } | null = null
  for (const line of mounts.split('\n')) {
    const [, point, type] = line.split(' ')
    if (!point || !type) continue
    const decoded = point.replace(/\\040/g, ' ')
    const inside = dir === decoded || dir.startsWith(decoded.endsWith('/') ? decoded : `${decoded}/`)
    if (inside && (!best || decoded.length > best.point.length)) best = { point: decoded, type }
  }
  return best?.type ?? null
}

export async function openStorage({ root, requireTmpfs, flag = '--data-dir' }: StorageOptions): Promise<Storage> {
  const absolute = path.resolve(root)
  await mkdir(absolute, { recursive: true, mode: 0o700 })
  const onTmpfs = (await filesystemTypeOf(absolute)) === 'tmpfs'
  if (requireTmpfs && !onTmpfs) {
    throw new StorageError(
      `The job data directory ${absolute} is not on tmpfs, so job data would be written to disk. ` +
        `Point ${flag} at a tmpfs mount (e.g. /dev/shm/sandrun) or pass --allow-disk-storage.`,
    )
  }
  // Data left by a previous run belongs to jobs nobody can reach any more.
  for (const entry of await readdir(absolute)) {
    if (/^j[0-9a-f]{32}$/.test(entry)) await rm(path.join(absolute, entry), { recursive: true, force: true })
  }
  return {
    onTmpfs,
    createJobDir() {
      const dir = path.join(absolute, `j${randomBytes(16).toString('hex')}`)
      mkdirSync(dir, { mode: 0o700 })
      return dir
    },
    async removeJobDir(dir) {
      if (path.dirname(dir) !== absolute) throw new Error('refusing to remove a directory outside the storage root')
      await rm(dir, { recursive: true, force: true })
    },
    async close() {
      await rmdir(absolute).catch(() => undefined)
    },
  }
}
