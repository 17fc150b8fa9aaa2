// Records the state of a job directory right after extraction, so that output collection can
// tell which files the job created or changed.
import { walkRegularFiles } from './walkRegularFiles.ts'

/**
 * What identifies a file's version. Stat data rather than a content hash: free to take (no reads
 * of a 100 MB bundle) and equally deterministic across replicas. ctime catches rewrites that
 * restore the old mtime (utime() cannot set ctime). Consequence: a file the job rewrote with the
 * same bytes, or only touched, counts as changed.
 */
export type FileStamp = {
  ino: bigint
  size: bigint
  mtimeNs: bigint
  ctimeNs: bigint
}

/** Relative path -> stamp, for every regular file (symlinks and special files are not outputs). */
export type TreeSnapshot = ReadonlyMap<string, FileStamp>

/**
 * Take it on the directory the job will see, after extraction and before the job starts: a copy
 * made afterwards has new inodes and times, and every file would then look changed.
 */
export async function snapshotTree(dir: string): Promise<TreeSnapshot> {
  const { files } = await walkRegularFiles({ dir })
  return new Map(files.map(({ path, stats }) => [path, stampOf(stats)]))
}

export function stampOf(stats: { ino: bigint; size: bigint; mtimeNs: bigint; ctimeNs: bigint }): FileStamp {
  return { ino: stats.ino, size: stats.size, mtimeNs: stats.mtimeNs, ctimeNs: stats.ctimeNs }
}

export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}
