// Is this a cgroup v2 host: the unified hierarchy holds the memory and pids controllers? (This
// development machine keeps them on v1; the test VM, `npm run test:vm`, is v2 only.)
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { HostSupport } from './requireHost.ts'

export function probeCgroupV2(): HostSupport {
  const unified = readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((line) => line.split(' '))
    .find(([, , type]) => type === 'cgroup2')
  if (!unified) return { supported: false, reason: 'this host has no cgroup v2 hierarchy' }
  const controllers = readFileSync(path.join(unified[1]!, 'cgroup.controllers'), 'utf8').trim().split(/\s+/)
  if (controllers.includes('memory') && controllers.includes('pids')) return { supported: true }
  return { supported: false, reason: "this host's memory and pids controllers are on cgroup v1 (npm run test:vm runs this in a cgroup v2 kernel)" }
}
