// Copies a finished job's output files out of its work directory. Symlinks are never followed
// (a job could otherwise point one at a host file), the selection and the caps are applied in a
// fixed order so every replica collects the same set, and hashes are computed while copying.
import { createHash } from 'node:crypto'
import { constants } from 'node:fs'
import { mkdir, open, rm } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import picomatch from 'picomatch'
import type { OutputFile } from '../types.ts'
import { sameStamp, type TreeSnapshot } from './snapshotTree.ts'
import { type WalkedFile, walkRegularFiles } from './walkRegularFiles.ts'

export type CollectOutputsParameters = {
  /** The job's /work on the host. The job must have stopped. */
  workDir: string
  /** Manifest `outputs`. Empty: every file new or changed since `baseline`. */
  patterns: readonly string[]
  /** Taken after extraction (snapshotTree); only used when `patterns` is empty. */
  baseline?: TreeSnapshot | undefined
  /** Existing directory that receives the copies, at `outputDir/<path>`. */
  outputDir: string
  maxFiles?: number | undefined
  maxTotalBytes?: number | undefined
  /** Directory entries examined before the walk gives up (a job can create millions of empty files). */
  maxScannedEntries?: number | undefined
}

export type CollectOutputsReturnType = {
  /** Sorted bytewise by path. */
  files: OutputFile[]
  /** Set when a cap stopped collection: files after that point (in path order) were not collected. */
  truncated: 'maxFiles' | 'maxTotalBytes' | 'maxScannedEntries' | null
}

export const defaultCollectOutputsLimits = {
  // Beyond this a result is an archive, not a set of outputs; it also bounds the Merkle tree.
  maxFiles: 1000,
  // Same as the default /work tmpfs: everything a default job can write.
  maxTotalBytes: 100 * 1024 * 1024,
  maxScannedEntries: 100_000,
} as const

const readFlags = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK
const writeFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW
const copyChunkBytes = 256 * 1024

/**
 * A pattern matches a file's path (picomatch, `dot: true`) or one of its parent directories, so
 * `results` and `results/` collect the whole folder. Patterns select files whether or not the job
 * changed them. Copies are mode 0644; the work directory is left untouched.
 */
export async function collectOutputs({
  workDir,
  patterns,
  baseline,
  outputDir,
  maxFiles = defaultCollectOutputsLimits.maxFiles,
  maxTotalBytes = defaultCollectOutputsLimits.maxTotalBytes,
  maxScannedEntries = defaultCollectOutputsLimits.maxScannedEntries,
}: CollectOutputsParameters): Promise<CollectOutputsReturnType> {
  const walk = await walkRegularFiles({ dir: workDir, maxEntries: maxScannedEntries })
  const selected = walk.files.filter(selector(patterns, baseline))

  const files: OutputFile[] = []
  let totalBytes = 0
  for (const { path, stamp } of selected) {
    if (files.length >= maxFiles) return { files, truncated: 'maxFiles' }
    if (totalBytes + Number(stamp.size) > maxTotalBytes) return { files, truncated: 'maxTotalBytes' }
    const copied = await copyFile(join(workDir, path), join(outputDir, path), maxTotalBytes - totalBytes)
    if (copied === 'skipped') continue
    if (copied === 'over budget') return { files, truncated: 'maxTotalBytes' }
    totalBytes += copied.sizeBytes
    files.push({ path, sizeBytes: copied.sizeBytes, sha256: copied.sha256, hostPath: join(outputDir, path) })
  }
  return { files, truncated: walk.incomplete ? 'maxScannedEntries' : null }
}

function selector(
  patterns: readonly string[],
  baseline: TreeSnapshot | undefined,
): (file: WalkedFile) => boolean {
  if (patterns.length === 0) {
    if (baseline === undefined) return () => true
    return ({ path, stamp }) => {
      const before = baseline.get(path)
      return before === undefined || !sameStamp(before, stamp)
    }
  }
  const isMatch = picomatch(
    patterns.map((pattern) => (pattern.length > 1 ? pattern.replace(/\/+$/, '') : pattern)),
    { dot: true },
  )
  return ({ path }) => {
    if (isMatch(path)) return true
    for (let slash = path.lastIndexOf('/'); slash > 0; slash = path.lastIndexOf('/', slash - 1))
      if (isMatch(path.slice(0, slash))) return true
    return false
  }
}

type CopyResult = { sizeBytes: number; sha256: string } | 'skipped' | 'over budget'

const zeros = Buffer.alloc(copyChunkBytes)

/**
 * Copies one file, hashing as it goes; refuses to copy more than `budget` bytes. Runs of zeros stay
 * holes in the copy: a job's `truncate -s 99M` output costs the service's RAM what it cost the job
 * (nothing), not 99 MiB kept for an hour. Readers still get every byte.
 */
async function copyFile(source: string, target: string, budget: number): Promise<CopyResult> {
  let input: Awaited<ReturnType<typeof open>>
  try {
    input = await open(source, readFlags)
  } catch {
    // Gone, unreadable, or swapped for a symlink (ELOOP): not an output.
    return 'skipped'
  }
  try {
    if (!(await input.stat()).isFile()) return 'skipped'
    await mkdir(dirname(target), { recursive: true })
    const output = await open(target, writeFlags, 0o644)
    const hash = createHash('sha256')
    const buffer = Buffer.allocUnsafe(copyChunkBytes)
    let size = 0
    try {
      for (;;) {
        const { bytesRead } = await input.read(buffer, 0, buffer.byteLength, null)
        if (bytesRead === 0) break
        size += bytesRead
        if (size > budget) break
        const chunk = buffer.subarray(0, bytesRead)
        hash.update(chunk)
        if (!chunk.equals(zeros.subarray(0, bytesRead))) await output.write(chunk, 0, bytesRead, size - bytesRead)
      }
      // Trailing zeros are a hole too; the size says where the file ends.
      if (size <= budget) await output.truncate(size)
    } finally {
      await output.close()
    }
    if (size > budget) {
      await rm(target, { force: true })
      return 'over budget'
    }
    return { sizeBytes: size, sha256: hash.digest('hex') }
  } finally {
    await input.close()
  }
}
