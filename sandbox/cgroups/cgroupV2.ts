// cgroup v2 backend: one directory per job under this service's own cgroup, with memory, pids
// and cpu enabled for the subtree. v2 forbids processes in a cgroup that delegates controllers,
// so when our cgroup holds processes they move to a leaf (`sandrun-service`) first, as runc does.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { killAllIn, listPids, readKeyValues, readNumber, removeCgroupDir, tryWriteControl, writeControl } from './cgroupFiles.ts'
import type { CgroupBackend, CgroupLimits, JobCgroup } from './types.ts'

const wanted = ['memory', 'pids', 'cpu'] as const

function enableControllers(dir: string, controllers: readonly string[]): void {
  writeControl(path.join(dir, 'cgroup.subtree_control'), controllers.map((c) => `+${c}`).join(' '))
}

/** Makes `base` delegate controllers, moving its own processes into a leaf when the kernel requires it. */
function delegate(base: string, controllers: readonly string[]): void {
  try {
    enableControllers(base, controllers)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EBUSY') throw error
    const leaf = path.join(base, 'sandrun-service')
    mkdirSync(leaf, { recursive: true })
    for (const pid of listPids(path.join(base, 'cgroup.procs'))) tryWriteControl(path.join(leaf, 'cgroup.procs'), pid)
    enableControllers(base, controllers)
  }
}

/** `base` is this process's own cgroup directory; `parent` the service directory to create under it. */
export function createCgroupV2Backend({ base, parent }: { base: string; parent: string }): CgroupBackend {
  delegate(base, wanted)
  mkdirSync(parent, { recursive: true })
  enableControllers(parent, wanted)

  function create(name: string, limits: CgroupLimits): JobCgroup {
    const dir = path.join(parent, name)
    mkdirSync(dir)
    writeControl(path.join(dir, 'memory.max'), limits.memoryBytes)
    tryWriteControl(path.join(dir, 'memory.swap.max'), 0)
    writeControl(path.join(dir, 'pids.max'), limits.pids)
    const cpuMax = `${Math.max(1000, Math.round(limits.cpuCores * 100_000))} 100000`
    tryWriteControl(path.join(dir, 'cpu.max'), cpuMax)

    const cpuSeconds = () => (readKeyValues(path.join(dir, 'cpu.stat')).get('usage_usec') ?? 0) / 1e6
    const procs = path.join(dir, 'cgroup.procs')
    // v2 moves whole processes only (cgroup.procs), always under the global lock; hosts that start
    // many jobs should mount cgroup2 with `favordynmods` (see docs/security.md).
    const kill = async () => {
      // cgroup.kill (Linux 5.14+) kills the whole subtree atomically; fall back to pid by pid.
      tryWriteControl(path.join(dir, 'cgroup.kill'), 1)
      await killAllIn(procs)
    }
    return {
      selfJoinFiles: null,
      addProcess(pid) {
        writeControl(procs, pid)
      },
      cpuSeconds,
      // Held: 1 ms per 100 ms period, the smallest quota the kernel takes.
      hold: (held) => tryWriteControl(path.join(dir, 'cpu.max'), held ? '1000 100000' : cpuMax),
      stats() {
        const events = readKeyValues(path.join(dir, 'memory.events'))
        return {
          cpuSeconds: cpuSeconds(),
          // memory.peak needs Linux 5.19; older kernels report the current usage, a lower bound.
          memoryPeakBytes: readNumber(path.join(dir, 'memory.peak')) || readNumber(path.join(dir, 'memory.current')),
          oomKilled: (events.get('oom_kill') ?? 0) > 0,
        }
      },
      killAll: kill,
      async destroy() {
        await kill()
        await removeCgroupDir(dir)
      },
    }
  }

  return {
    version: 'v2',
    parentDirs: [parent],
    controllers: [...wanted],
    create,
    async close() {
      await removeCgroupDir(parent)
    },
  }
}
