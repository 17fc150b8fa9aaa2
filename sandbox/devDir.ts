// A prepared /dev, mounted once per sandbox instance and bound read-only-ish into every job.
// bwrap's own `--dev` builds a fresh /dev per job: a tmpfs, a bind mount per device (each followed
// by a scan of the mount table) and a devpts instance, ~1.5 ms of CPU on every start. This is the
// same set of harmless devices on a small tmpfs of our own (mounted without nodev, then remounted
// read-only, owned by root): one bind per job, plus a private tmpfs at /dev/shm. Not offered:
// /dev/pts and /dev/ptmx (jobs have no terminal).
import { execFile } from 'node:child_process'
import { mkdirSync, symlinkSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Name, major, minor: memory devices and the controlling-terminal alias. */
const devices: Array<[string, number, number]> = [
  ['null', 1, 3],
  ['zero', 1, 5],
  ['full', 1, 7],
  ['random', 1, 8],
  ['urandom', 1, 9],
  ['tty', 5, 0],
]

const links: Array<[string, string]> = [
  ['fd', '/proc/self/fd'],
  ['stdin', '/proc/self/fd/0'],
  ['stdout', '/proc/self/fd/1'],
  ['stderr', '/proc/self/fd/2'],
]

/**
 * Mounts and fills the /dev for jobs at `dir` (root only). Returns the directory, or null when it
 * cannot be made here (jobs then get bwrap's `--dev`). Unmounted by whoever removes the instance.
 */
export async function mountDevDir(dir: string): Promise<string | null> {
  try {
    mkdirSync(dir, { recursive: true })
    await run('mount', ['-t', 'tmpfs', '-o', 'size=64k,nr_inodes=64,mode=0755,nosuid', 'sandrun-dev', dir])
    mkdirSync(path.join(dir, 'shm'), { mode: 0o755 })
    for (const [name, target] of links) symlinkSync(target, path.join(dir, name))
    const script = devices.map(([name, major, minor]) => `mknod -m 666 ${name} c ${major} ${minor}`).join(' && ')
    await run('/bin/sh', ['-c', `cd "$1" && ${script}`, 'sandrun-dev', dir])
    await run('mount', ['-o', 'remount,ro,nosuid', dir])
    return dir
  } catch {
    await run('umount', ['-l', dir]).catch(() => {})
    return null
  }
}
