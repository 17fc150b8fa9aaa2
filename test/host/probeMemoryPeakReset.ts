// Can this kernel reset a cgroup's memory.peak (Linux 6.12+: the file is writable)? Only then does
// the cgroup v2 backend reuse emptied job cgroups: a reused one must not report the last job's peak.
import { readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import type { HostSupport } from './requireHost.ts'

export function probeMemoryPeakReset(): HostSupport {
  const unified = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find(([, , type]) => type === 'cgroup2')
  const own = /^0::(.*)$/m.exec(readFileSync('/proc/self/cgroup', 'utf8'))?.[1] ?? '/'
  let mode = 0
  try {
    mode = statSync(path.join(unified?.[1] ?? '/sys/fs/cgroup', own, 'memory.peak')).mode
  } catch {
    return { supported: false, reason: 'this kernel has no cgroup v2 memory.peak (Linux 5.19+)' }
  }
  if (mode & 0o200) return { supported: true }
  return { supported: false, reason: 'this kernel cannot reset memory.peak (Linux 6.12+), so emptied job cgroups are not reused' }
}
