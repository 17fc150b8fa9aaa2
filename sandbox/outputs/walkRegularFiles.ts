// Lists the regular files under a job directory without ever following a symlink: entries are
// lstat'ed, symlinked directories are not descended, and the order is fixed (bytewise by path) so
// two replicas of a job see the same list. A job may leave tens of thousands of entries (its /work
// allows 65,536): directories are read off the event loop, and the per-entry work and the sorting
// happen in slices, so the service keeps answering while it walks. What is kept per file is small
// (its path and four numbers): tens of thousands of full stat objects kept to the end made the
// garbage collector's young-generation copies long enough to hold the event loop.
import type { BigIntStats } from 'node:fs'
import { lstatSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { createYielder } from '../createYielder.ts'
import { sortInSlices } from './sortInSlices.ts'

/**
 * What identifies a file's version. Stat data rather than a content hash: free to take (no reads
 * of a 100 MB bundle) and equally deterministic across replicas. ctime catches rewrites that
 * restore the old mtime (utime() cannot set ctime).
 */
export type FileStamp = {
  ino: bigint
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
}

export type WalkedFile = {
  /** Relative to the walked directory, `/`-separated. */
  path: string
  stamp: FileStamp
}

export type WalkRegularFilesParameters = {
  dir: string
  /** Directory entries (of any kind) to look at before giving up, against trees of millions of files. */
  maxEntries?: number | undefined
}

export type WalkRegularFilesReturnType = {
  /** Sorted bytewise by path. */
  files: WalkedFile[]
  /** True when `maxEntries` stopped the walk early. */
  incomplete: boolean
}

const utf8 = new TextDecoder('utf-8', { fatal: true })

/** A path's UTF-8 bytes as a latin1 string: JS string order on these is byte order. */
const byteKey = (path: string): string => Buffer.from(path).toString('latin1')

/**
 * Names that are not valid UTF-8 are skipped: they cannot be reported as JSON strings or compared
 * across hosts. Entries that vanish or cannot be read are skipped too.
 */
export async function walkRegularFiles({
  dir,
  maxEntries = Number.POSITIVE_INFINITY,
}: WalkRegularFilesParameters): Promise<WalkRegularFilesReturnType> {
  const yielder = createYielder()
  const files: WalkedFile[] = []
  let seen = 0
  let incomplete = false
  // Depth-first with names visited in sorted order: the entry budget runs out at the same place
  // on every host.
  const pending: string[] = ['']
  walk: while (pending.length > 0) {
    const relative = pending.pop() as string
    // Names as latin1 strings: each byte one character (exact, and JS string order is byte order),
    // and far cheaper than a Buffer per name.
    let names: string[]
    try {
      names = await readdir(relative === '' ? dir : join(dir, relative), { encoding: 'latin1' })
    } catch {
      continue
    }
    const subdirectories: string[] = []
    for (const raw of await sortInSlices(names, (name) => name, yielder)) {
      seen += 1
      if (seen > maxEntries) {
        incomplete = true
        break walk
      }
      await yielder()
      let name: string
      try {
        name = utf8.decode(Buffer.from(raw, 'latin1'))
      } catch {
        continue
      }
      const path = relative === '' ? name : `${relative}/${name}`
      let stats: BigIntStats
      try {
        stats = lstatSync(join(dir, path), { bigint: true })
      } catch {
        continue
      }
      if (stats.isDirectory()) subdirectories.push(path)
      else if (stats.isFile()) files.push({ path, stamp: { ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs } })
    }
    pending.push(...subdirectories.reverse())
  }
  return { files: await sortInSlices(files, (file) => byteKey(file.path), yielder), incomplete }
}
