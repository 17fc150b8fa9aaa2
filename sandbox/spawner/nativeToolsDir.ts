// Where the native tools are built: the runtime root (a tmpfs emptied at boot) unless it is
// mounted noexec, as /run is on Debian hosts booted through initramfs-tools; then a private cache
// directory (root: /var/cache/sandrun, others: ~/.cache/sandrun). Both tools are executed from
// there (sandrun-exec through an fd, which a noexec mount refuses just the same).
import { lstatSync, mkdirSync, readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { errorCodeOf } from '../../errors/index.ts'

/** The mount options of the mount that holds `dir` (the longest mount point that prefixes it). */
function mountOptionsOf(dir: string): string[] {
  let best = { point: '', options: [] as string[] }
  for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
    const [, point = '', , options = ''] = line.split(' ')
    const mount = point.replace(/\\040/g, ' ')
    const inside = dir === mount || dir.startsWith(mount === '/' ? '/' : `${mount}/`)
    if (inside && mount.length >= best.point.length) best = { point: mount, options: options.split(',') }
  }
  return best.options
}

/** A directory for the tools, or a reason there is none (the caller then uses the Node spawner). */
export function nativeToolsDir(runtimeRoot: string): { dir: string } | { dir: null; reason: string } {
  if (!mountOptionsOf(runtimeRoot).includes('noexec')) return { dir: runtimeRoot }
  const cache = process.getuid?.() === 0 ? '/var/cache/sandrun' : path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'sandrun')
  try {
    mkdirSync(cache, { recursive: true, mode: 0o700 })
    const stat = lstatSync(cache)
    // The service runs what it finds here: it must be this user's, writable by nobody else.
    if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return { dir: null, reason: `${cache} is not this user's private directory` }
  } catch (error) {
    return { dir: null, reason: `${runtimeRoot} is mounted noexec and ${cache} cannot be made (${errorCodeOf(error)})` }
  }
  if (mountOptionsOf(cache).includes('noexec')) return { dir: null, reason: `${runtimeRoot} and ${cache} are mounted noexec` }
  return { dir: cache }
}
