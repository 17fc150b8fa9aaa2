// Builds the sandbox's /etc: a handful of generated files (one sandbox user, hostname, hosts) and
// copies of the host entries that interpreters need to start (loader cache, alternatives links,
// CA certificates, PHP and R configuration). Nothing else of the host's /etc is visible.
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs'
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

export function buildMinimalEtc({ dir, uid, gid }: { dir: string; uid: number; gid: number }): void {
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(dir, { recursive: true, mode: 0o755 })
  for (const entry of copiedEntries) {
    const source = path.join('/etc', entry)
    if (!existsSync(source)) continue
    cpSync(source, path.join(dir, entry), { recursive: true, verbatimSymlinks: true, dereference: false })
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
