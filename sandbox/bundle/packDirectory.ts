// Packs a user's project folder into a bundle (used by the CLI). It packs what the server would
// accept: regular files, directories, and only the symlinks that stay inside the folder.
import { constants } from 'node:fs'
import { lstat, open, readdir, readlink } from 'node:fs/promises'
import { join } from 'node:path'
import { linkTarget } from './linkTarget.ts'
import { packTar, type PackEntry } from './packTar.ts'

/**
 * Entries are sorted so the same folder always gives the same bundle. Symlinks whose target leaves
 * the folder (absolute, or through `..`, or through another link) are skipped, as are sockets,
 * FIFOs and devices; symlinked directories are packed as links, never descended.
 */
export async function packDirectory(dir: string): Promise<Buffer> {
  const entries: PackEntry[] = []
  const links = new Map<string, string>()
  const pending: string[] = ['']
  while (pending.length > 0) {
    const relative = pending.pop() as string
    const names = (await readdir(join(dir, relative))).sort()
    for (const name of names) {
      const path = relative === '' ? name : `${relative}/${name}`
      const host = join(dir, path)
      const stats = await lstat(host)
      if (stats.isDirectory()) {
        entries.push({ type: 'directory', name: `${path}/` })
        pending.push(path)
      } else if (stats.isFile()) {
        const mode = (stats.mode & 0o111) !== 0 ? 0o755 : 0o644
        entries.push({ type: 'file', name: path, mode, content: () => readNoFollow(host) })
      } else if (stats.isSymbolicLink()) {
        const target = await readlink(host)
        links.set(path, target)
        entries.push({ type: 'symlink', name: path, target })
      }
    }
  }
  const kept = insideLinks(links)
  return packTar(
    entries
      .filter((entry) => entry.type !== 'symlink' || kept.has(entry.name))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  )
}

/** Drops escaping links until stable: removing one can change where another resolves. */
function insideLinks(links: Map<string, string>): Set<string> {
  const kept = new Map(links)
  let changed = true
  while (changed) {
    changed = false
    for (const [path, target] of kept) {
      if (linkTarget({ linkPath: path, target, links: kept }) !== 'inside') {
        kept.delete(path)
        changed = true
      }
    }
  }
  return new Set(kept.keys())
}

async function readNoFollow(path: string): Promise<Uint8Array> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW)
  try {
    return await handle.readFile()
  } finally {
    await handle.close()
  }
}
