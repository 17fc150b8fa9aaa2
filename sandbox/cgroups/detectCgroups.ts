// Chooses the cgroup backend at start-up: v2 when the unified hierarchy has memory and pids,
// v1 when those controllers live on v1 hierarchies, none otherwise (the sandbox then falls back to
// rlimits and reports the weaker isolation).
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { createCgroupV1Backend } from './cgroupV1.ts'
import { createCgroupV2Backend } from './cgroupV2.ts'
import type { CgroupBackend } from './types.ts'

export type DetectCgroupsReturnType = {
  backend: CgroupBackend | null
  /** Why no backend could be used, for `/health` and `sandrun doctor`. */
  note: string | null
}

type Mount = { dir: string; type: string; options: string[] }

function readMounts(): Mount[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [, dir = '', type = '', options = ''] = line.split(' ')
      return { dir: dir.replace(/\\040/g, ' '), type, options: options.split(',') }
    })
}

/** controller list (or '' for v2) → this process's cgroup path in that hierarchy. */
function readOwnCgroups(): Map<string, string> {
  const out = new Map<string, string>()
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
    const [, controllers = '', ...rest] = line.split(':')
    out.set(controllers, rest.join(':'))
  }
  return out
}

export function detectCgroups({ instance }: { instance: string }): DetectCgroupsReturnType {
  if (process.getuid?.() !== 0) return { backend: null, note: 'not running as root: cgroups unavailable, limits use rlimits' }
  let mounts: Mount[]
  let own: Map<string, string>
  try {
    mounts = readMounts()
    own = readOwnCgroups()
  } catch {
    return { backend: null, note: 'cannot read /proc/self/mounts or /proc/self/cgroup' }
  }
  const errors: string[] = []

  const unified = mounts.find((m) => m.type === 'cgroup2')
  if (unified) {
    let available: string[] = []
    try {
      available = readFileSync(path.join(unified.dir, 'cgroup.controllers'), 'utf8').trim().split(/\s+/)
    } catch {
      // no controllers file: not usable
    }
    if (available.includes('memory') && available.includes('pids')) {
      const base = path.join(unified.dir, own.get('') ?? '/')
      try {
        return { backend: createCgroupV2Backend({ base, parent: path.join(base, `sandrun-${instance}`) }), note: null }
      } catch (error) {
        errors.push(`cgroup v2 not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
      }
    }
  }

  const v1 = mounts.filter((m) => m.type === 'cgroup')
  const hierarchy = (controller: string): string | undefined => {
    const mount = v1.find((m) => m.options.includes(controller))
    if (!mount) return undefined
    const key = [...own.keys()].find((k) => k.split(',').includes(controller))
    const ownPath = key === undefined ? '/' : (own.get(key) ?? '/')
    return path.join(mount.dir, ownPath, `sandrun-${instance}`)
  }
  const memory = hierarchy('memory')
  const pids = hierarchy('pids')
  const cpuacct = hierarchy('cpuacct')
  if (memory && pids && cpuacct) {
    try {
      return { backend: createCgroupV1Backend({ memory, pids, cpuacct, cpu: hierarchy('cpu') }), note: null }
    } catch (error) {
      errors.push(`cgroup v1 not writable (${(error as NodeJS.ErrnoException).code ?? 'error'})`)
    }
  }
  return {
    backend: null,
    note: errors.length > 0 ? errors.join('; ') : 'no cgroup hierarchy with the memory, pids and cpuacct controllers',
  }
}
