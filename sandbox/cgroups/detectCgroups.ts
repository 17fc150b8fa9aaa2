// Chooses the cgroup backend at start-up: v2 when this process's cgroup offers memory and pids
// and is ours to divide (root, or a subtree systemd delegated to this user), v1 (root only) when
// those controllers live on v1 hierarchies, none otherwise: the sandbox then falls back to
// rlimits, reports the weaker isolation, and `sandrun doctor` says what would fix it.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { createCgroupV1Backend } from './cgroupV1.ts'
import { createCgroupV2Backend } from './cgroupV2.ts'
import type { CgroupBackend } from './types.ts'
import { errorCodeOf, errorMessageOf } from '../../errors/index.ts'

export type DetectCgroupsReturnType = {
  backend: CgroupBackend | null
  /** Why no backend could be used, for `/health` (no host paths). */
  note: string | null
  /** What the operator can do about it, for `sandrun doctor` (paths and commands). */
  remedy: string | null
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

/** Unprivileged services get cgroups from systemd: a unit with Delegate=yes, or a delegated scope. */
const delegationRemedy =
  'run the service in a systemd unit with Delegate=yes (contrib/systemd), or start it with `systemd-run --user --scope -p Delegate=yes sandrun ...`'

export function detectCgroups({ instance }: { instance: string }): DetectCgroupsReturnType {
  const isRoot = process.getuid?.() === 0
  let mounts: Mount[]
  let own: Map<string, string>
  try {
    mounts = readMounts()
    own = readOwnCgroups()
  } catch {
    return { backend: null, note: 'cannot read /proc/self/mounts or /proc/self/cgroup', remedy: 'mount /proc' }
  }

  // v2: this process's own cgroup must offer memory and pids and be ours to divide (root, or a
  // subtree systemd delegated to this user).
  const unified = mounts.find((m) => m.type === 'cgroup2')
  let v2Failure: { note: string; remedy: string } | undefined
  if (unified) {
    const ownDir = path.join(unified.dir, own.get('') ?? '/')
    try {
      return { backend: createCgroupV2Backend({ own: ownDir, instance }), note: null, remedy: null }
    } catch (error) {
      v2Failure = explainV2Failure(error, ownDir, isRoot)
    }
  }
  const v1 = mounts.filter((m) => m.type === 'cgroup')
  if (!isRoot && v1.some((m) => m.options.includes('memory'))) {
    return {
      backend: null,
      note: 'not running as root, and the memory controller is on cgroup v1 (which cannot be delegated)',
      remedy: `run as root, or boot with cgroup v2 only (systemd.unified_cgroup_hierarchy=1) and ${delegationRemedy}`,
    }
  }
  if (!isRoot) {
    return {
      backend: null,
      note: v2Failure?.note ?? 'not running as root and no cgroup v2 hierarchy',
      remedy: v2Failure?.remedy ?? `use a host with cgroup v2 (systemd.unified_cgroup_hierarchy=1) and ${delegationRemedy}, or run as root`,
    }
  }

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
      return { backend: createCgroupV1Backend({ memory, pids, cpuacct, cpu: hierarchy('cpu') }), note: null, remedy: null }
    } catch (error) {
      const code = errorCodeOf(error) ?? 'error'
      return { backend: null, note: `cgroup v1 not writable (${code})`, remedy: `make ${path.dirname(memory)} and the pids and cpuacct hierarchies writable (a container needs them mounted read-write)` }
    }
  }
  // A v2 host (no v1 memory hierarchy): the v2 failure is the one to fix.
  if (v2Failure && !memory) return { backend: null, ...v2Failure }
  return {
    backend: null,
    note: 'no cgroup hierarchy with the memory, pids and cpuacct controllers',
    remedy: 'boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1) or mount the memory, pids and cpuacct controllers',
  }
}

/** Says which part of the v2 set-up failed, and what would fix it. */
function explainV2Failure(error: unknown, ownDir: string, isRoot: boolean): { note: string; remedy: string } {
  const code = errorCodeOf(error)
  const message = errorMessageOf(error)
  if (code === 'ENOCONTROLLER') {
    return isRoot
      ? { note: 'this cgroup does not offer the memory and pids controllers', remedy: `${message}: enable them in the parent cgroups, or ${delegationRemedy}` }
      : { note: 'cgroup v2 is not delegated to this user', remedy: `${message}: ${delegationRemedy}` }
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return isRoot
      ? { note: `cgroup v2 not writable (${code})`, remedy: `${ownDir} is read-only here (a container?): mount cgroup2 read-write, or ${delegationRemedy}` }
      : { note: 'cgroup v2 is not delegated to this user', remedy: `${ownDir} is not this user's to divide (${code}): ${delegationRemedy}` }
  }
  return { note: `cgroup v2 not usable (${code ?? 'error'})`, remedy: `${ownDir}: ${message}` }
}
