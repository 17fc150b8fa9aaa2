// Extracts a checked bundle into a job directory. Writes never follow a symlink: directories are
// created (or verified) one component at a time, files are created with O_EXCL|O_NOFOLLOW, and the
// archive checks already refuse any entry whose path goes through one of its own links. The file
// system calls are synchronous: on the job's tmpfs each takes microseconds, less than a round trip
// through the thread pool, and a large file still arrives chunk by chunk between them; the event
// loop gets a turn every few milliseconds however many entries there are.
import { chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, lchownSync, linkSync, lstatSync, mkdirSync, openSync, symlinkSync, unlinkSync, writeSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { createYielder } from '../createYielder.ts'
import { SandboxError } from '../errors.ts'
import type { BundleLimits } from './bundleLimits.ts'
import type { BundleEntry } from './bundleTree.ts'
import { quoteEntryName } from './entryPath.ts'
import type { InspectBundleReturnType } from './inspectBundle.ts'
import { type InflationMeter, readBundle } from './readBundle.ts'
import { errorCodeOf } from '../../errors/index.ts'

export type ExtractBundleParameters = {
  bundle: Uint8Array
  /**
   * Existing, empty directory owned by the caller. On error it holds a partial tree: the caller
   * removes it (every entry written lies inside it).
   */
  targetDir: string
  limits?: Partial<BundleLimits> | undefined
  /** The host user every extracted entry is given to (the job's); default: the caller's. */
  owner?: { uid: number; gid: number } | undefined
  /** Counts the bytes inflated. */
  meter?: InflationMeter | undefined
}

export type ExtractBundleReturnType = InspectBundleReturnType

const createFlags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW

/**
 * Files get mode 0755 when the archive marks them executable, 0644 otherwise; directories 0755.
 * Ownership and timestamps are not restored (the archive's are meaningless on this host).
 */
export async function extractBundle({
  bundle,
  targetDir,
  limits,
  owner,
  meter,
}: ExtractBundleParameters): Promise<ExtractBundleReturnType> {
  const root = resolve(targetDir)
  // Relative paths known to be real directories: created here or checked with lstat.
  const directories = new Set<string>([''])
  const yielder = createYielder()

  const ensureDirectory = (path: string): void => {
    // Each prefix of the path in turn (a, a/b, a/b/c): linear in the path's length.
    for (let end = path.indexOf('/'); ; end = path.indexOf('/', end + 1)) {
      const relative = end < 0 ? path : path.slice(0, end)
      if (!directories.has(relative)) createDirectory(relative)
      if (end < 0) return
    }
  }

  const createDirectory = (relative: string): void => {
    const host = join(root, relative)
    try {
      mkdirSync(host, { mode: 0o755 })
      chmodSync(host, 0o755)
      if (owner) chownSync(host, owner.uid, owner.gid)
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error
      const stats = lstatSync(host)
      if (!stats.isDirectory())
        throw new SandboxError(
          'SANDBOX_FAILED',
          `Cannot extract into a non-empty directory: ${quoteEntryName(relative)} already exists and is not a directory.`,
        )
    }
    directories.add(relative)
  }

  const write = async (entry: BundleEntry, content: AsyncIterable<Buffer>): Promise<void> => {
    const slash = entry.path.lastIndexOf('/')
    if (slash > 0) ensureDirectory(entry.path.slice(0, slash))
    const host = join(root, entry.path)
    switch (entry.kind) {
      case 'directory':
        return ensureDirectory(entry.path)
      case 'symlink':
        symlinkSync(entry.target, host)
        if (owner) lchownSync(host, owner.uid, owner.gid)
        return
      case 'hardlink':
        return linkSync(join(root, entry.target), host)
      case 'file': {
        // Tar semantics: a later entry replaces an earlier one. Unlink, not truncate, so an earlier
        // hardlink to the old file keeps its content.
        if (entry.replaces) unlinkSync(host)
        const mode = entry.executable ? 0o755 : 0o644
        const fd = openSync(host, createFlags, mode)
        try {
          fchmodSync(fd, mode)
          if (owner) fchownSync(fd, owner.uid, owner.gid)
          for await (const chunk of content) writeAll(fd, chunk)
        } finally {
          closeSync(fd)
        }
      }
    }
  }

  return readBundle({
    bundle,
    limits,
    meter,
    onEntry: async (entry, content) => {
      await yielder()
      try {
        await write(entry, content)
      } catch (error) {
        if (error instanceof SandboxError) throw error
        // Host paths stay out of the message; the errno says enough (ENOSPC, EEXIST, ...).
        const code = errorCodeOf(error) ?? 'unknown error'
        throw new SandboxError('SANDBOX_FAILED', `Could not extract entry ${quoteEntryName(entry.path)} (${code}).`, {
          details: code === 'EEXIST' ? 'The target directory must be empty.' : undefined,
          cause: error,
        })
      }
    },
  })
}

function writeAll(fd: number, chunk: Buffer): void {
  for (let written = 0; written < chunk.length; ) written += writeSync(fd, chunk, written)
}

function isErrno(error: unknown, code: string): boolean {
  return errorCodeOf(error) === code
}
