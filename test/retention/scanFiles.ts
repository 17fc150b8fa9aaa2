// Reads every file under some directories, for the retention tests: which files exist at all, and
// which of them hold a byte string (a job's marker) anywhere in their content.
import { lstat, readdir, readFile } from 'node:fs/promises'
import path from 'node:path'

export type ScanFilesReturnType = {
  /** Every regular file, as a path relative to its root, prefixed by the root's index when several were given. */
  files: string[]
  /** The files whose content contains the needle. */
  containing: string[]
}

export async function scanFiles(roots: string[], needle?: string): Promise<ScanFilesReturnType> {
  const files: string[] = []
  const containing: string[] = []
  const bytes = needle === undefined ? null : Buffer.from(needle)
  const walk = async (root: string, dir: string, label: string): Promise<void> => {
    // A file removed while we look (a deletion racing the scan) is simply not there.
    const entries = await readdir(dir).catch(() => [] as string[])
    for (const name of entries) {
      const full = path.join(dir, name)
      const info = await lstat(full).catch(() => null)
      if (!info) continue
      if (info.isDirectory()) await walk(root, full, label)
      else if (info.isFile()) {
        const relative = `${label}${path.relative(root, full)}`
        files.push(relative)
        if (bytes) {
          const content = await readFile(full).catch(() => null)
          if (content?.includes(bytes)) containing.push(relative)
        }
      }
    }
  }
  for (const [index, root] of roots.entries()) await walk(root, root, roots.length > 1 ? `${index}:` : '')
  return { files: files.sort(), containing: containing.sort() }
}
