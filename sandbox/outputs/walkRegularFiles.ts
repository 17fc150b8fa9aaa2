// Lists the regular files under a job directory without ever following a symlink: entries are
// lstat'ed, symlinked directories are not descended, and the order is fixed (bytewise by path) so
// two replicas of a job see the same list.
import type { BigIntStats } from 'node:fs'
import { lstatSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

export type WalkedFile = {
  /** Relative to the walked directory, `/`-separated. */
  path: string
  stats: BigIntStats
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

/**
 * Names that are not valid UTF-8 are skipped: they cannot be reported as JSON strings or compared
 * across hosts. Entries that vanish or cannot be read are skipped too.
 */
export async function walkRegularFiles({
  dir,
  maxEntries = Number.POSITIVE_INFINITY,
}: WalkRegularFilesParameters): Promise<WalkRegularFilesReturnType> {
  const files: WalkedFile[] = []
  let seen = 0
  // Synchronous calls are several times cheaper than the thread pool's round trips for the few
  // entries a job usually leaves; the event loop gets a turn every `yieldEvery` entries.
  const yieldEvery = 256
  // Depth-first with names visited in sorted order: the entry budget runs out at the same place
  // on every host.
  const pending: string[] = ['']
  while (pending.length > 0) {
    const relative = pending.pop() as string
    let names: Buffer[]
    try {
      names = readdirSync(relative === '' ? dir : join(dir, relative), { encoding: 'buffer' })
    } catch {
      continue
    }
    const subdirectories: string[] = []
    for (const raw of names.sort(Buffer.compare)) {
      seen += 1
      if (seen > maxEntries) return { files: sortByPath(files), incomplete: true }
      if (seen % yieldEvery === 0) await new Promise((resolve) => setImmediate(resolve))
      let name: string
      try {
        name = utf8.decode(raw)
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
      else if (stats.isFile()) files.push({ path, stats })
    }
    pending.push(...subdirectories.reverse())
  }
  return { files: sortByPath(files), incomplete: false }
}

/** Bytewise UTF-8 order, the order result entries are committed in (not JS UTF-16 order). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

function sortByPath(files: WalkedFile[]): WalkedFile[] {
  return files.sort((a, b) => comparePaths(a.path, b.path))
}
