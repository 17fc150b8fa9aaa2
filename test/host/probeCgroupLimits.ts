// Can this host give a job cgroup limits at all, for the user running the tests? Read from the
// kernel's mount table and this process's cgroup, independently of the sandbox's own detection
// (which is under test): a host without the memory and pids controllers, or with them read-only
// (a container), can only run jobs under rlimits.
import { accessSync, constants, readFileSync } from 'node:fs'
import path from 'node:path'
import type { HostSupport } from './requireHost.ts'

export function probeCgroupLimits(): HostSupport {
  const mounts = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .filter(([, , type]) => type === 'cgroup' || type === 'cgroup2')
  const writable = (options: string | undefined) => !options?.split(',').includes('ro')
  const isRoot = process.getuid?.() === 0
  const v1 = (controller: string) => mounts.some(([, , type, options]) => type === 'cgroup' && writable(options) && options!.split(',').includes(controller))
  if (isRoot && v1('memory') && v1('pids')) return { supported: true }

  const unified = mounts.find(([, , type]) => type === 'cgroup2')
  if (unified && writable(unified[3])) {
    const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/'
    // Root may enable controllers from the top down; anyone else only inside a delegated subtree.
    const dir = isRoot ? unified[1]! : path.join(unified[1]!, own)
    const controllers = readFileSync(path.join(dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/)
    if (controllers.includes('memory') && controllers.includes('pids') && (isRoot || canWrite(dir))) return { supported: true }
    if (!isRoot) return { supported: false, reason: `not root, and this process's cgroup (${dir}) is not a delegated subtree with memory and pids` }
  }
  return { supported: false, reason: 'this host has no writable cgroup hierarchy with the memory and pids controllers' }
}

function canWrite(dir: string): boolean {
  try {
    accessSync(path.join(dir, 'cgroup.procs'), constants.W_OK)
    return true
  } catch {
    return false
  }
}
