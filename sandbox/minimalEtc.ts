// Builds the sandbox's /etc: a handful of generated files (one sandbox user, hostname, hosts) and
// copies of the host entries that interpreters need to start (loader cache, alternatives links,
// CA certificates, PHP and R configuration). Nothing else of the host's /etc is visible.
import { createHash } from 'node:crypto'
import { accessSync, constants, cpSync, existsSync, mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { environmentTemplates } from './environments/templates.ts'

/** Host /etc entries copied in (symlinks kept as links; they point into /usr, which the sandbox sees). */
const copiedEntries = [
  'ld.so.cache',
  'ld.so.conf',
  'ld.so.conf.d',
  'alternatives',
  'ssl',
  'ca-certificates',
  'php',
  'R',
  'perl',
  'mime.types',
  'protocols',
  'services',
  // What template packages read at start-up (Debian's matplotlib: /etc/matplotlibrc).
  ...new Set(environmentTemplates.flatMap((t) => t.etcEntries)),
]

/**
 * Private keys have no place in a sandbox (and /etc/ssl/private is root's alone: a service that is
 * not root could not read it); nor has anything else this user cannot read.
 */
function copied(source: string): boolean {
  if (source === '/etc/ssl/private' || source.startsWith('/etc/ssl/private/')) return false
  try {
    accessSync(source, constants.R_OK)
    return true
  } catch {
    return false
  }
}

export function buildMinimalEtc({ dir, uid, gid }: { dir: string; uid: number; gid: number }): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  for (const entry of copiedEntries) {
    const source = path.join('/etc', entry)
    if (!existsSync(source)) continue
    cpSync(source, path.join(dir, entry), { recursive: true, verbatimSymlinks: true, dereference: false, filter: copied })
  }
  const files: Record<string, string> = {
    passwd: `root:x:0:0:root:/nonexistent:/usr/sbin/nologin\nsandbox:x:${uid}:${gid}:sandbox:/work:/bin/sh\n`,
    group: `root:x:0:\nsandbox:x:${gid}:\n`,
    hostname: 'sandrun\n',
    hosts: '127.0.0.1 localhost sandrun\n::1 localhost\n',
    'nsswitch.conf': 'passwd: files\ngroup: files\nhosts: files\n',
    'resolv.conf': '',
  }
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content, { mode: 0o644 })
}

/**
 * Returns a built /etc under `root`, reusing one built earlier for the same host /etc state and
 * sandbox user. Copying /etc/alternatives alone takes most of a second, paid by every service start
 * and every `sandrun exec` otherwise. The key covers the copied entries' modification times, so a
 * package install (which touches them) gets a fresh copy.
 */
export function cachedMinimalEtc({ root, uid, gid }: { root: string; uid: number; gid: number }): string {
  const hash = createHash('sha256').update(`v2:${uid}:${gid}`)
  for (const entry of copiedEntries) {
    try {
      const stat = statSync(path.join('/etc', entry))
      hash.update(`:${entry}:${stat.mtimeMs}:${stat.size}`)
    } catch {
      hash.update(`:${entry}:-`)
    }
  }
  const dir = path.join(root, `etc-${hash.digest('hex').slice(0, 16)}`)
  if (existsSync(path.join(dir, 'passwd'))) return dir
  const building = `${dir}.${process.pid}.tmp`
  buildMinimalEtc({ dir: building, uid, gid })
  try {
    renameSync(building, dir)
  } catch {
    // Another instance finished first; its copy is identical.
    rmSync(building, { recursive: true, force: true })
  }
  return dir
}
