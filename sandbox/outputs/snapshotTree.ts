// Records the state of a job directory right after extraction, so that output collection can
// tell which files the job created or changed.
import { type FileStamp, walkRegularFiles } from './walkRegularFiles.ts'

export type { FileStamp }

/** Relative path -> stamp, for every regular file (symlinks and special files are not outputs). */
export type TreeSnapshot = ReadonlyMap<string, FileStamp>

/**
 * Take it on the directory the job will see, after extraction and before the job starts: a copy
 * made afterwards has new inodes and times, and every file would then look changed.
 */
export async function snapshotTree(dir: string): Promise<TreeSnapshot> {
  const { files } = await walkRegularFiles({ dir })
  return new Map(files.map(({ path, stamp }) => [path, stamp]))
}

/** A file the job rewrote with the same bytes, or only touched, counts as changed. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs
}
