// The sandbox's /etc on a small read-only tmpfs of its own, mounted once per sandbox instance. A
// bind of the cached copy (minimalEtc.ts) would show its host path in every job's
// /proc/self/mountinfo (the root of a bind mount is its path in the source filesystem); the root of
// a tmpfs of our own is just `/`.
import { execFile } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * Mounts a tmpfs at `dir` holding a copy of `source` (root only), read-only. Returns the directory,
 * or null when it cannot be made here (jobs then see the cached copy itself). Unmounted by whoever
 * removes the instance.
 */
export async function mountEtcDir(dir: string, source: string): Promise<string | null> {
  try {
    mkdirSync(dir, { recursive: true })
    await run('mount', ['-t', 'tmpfs', '-o', 'size=16m,nr_inodes=4096,mode=0755,nosuid,nodev', 'sandrun-etc', dir])
    // `cp -a` in a child process: the copy (hundreds of alternatives links) stays off the event loop.
    await run('cp', ['-a', `${source}/.`, `${dir}/`])
    await run('mount', ['-o', 'remount,ro,nosuid,nodev', dir])
    return dir
  } catch {
    await run('umount', ['-l', dir]).catch(() => {})
    return null
  }
}
