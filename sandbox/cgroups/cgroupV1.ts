// cgroup v1 backend: one directory per job in each of the memory, pids, cpu and cpuacct
// hierarchies (cpu and cpuacct may share a mount). Used where the kernel exposes these
// controllers on v1, as on the development machine.
import { chownSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { killAllIn, readKeyValues, readNumber, removeCgroupDir, tryWriteControl, writeControl } from './cgroupFiles.ts'
import type { CgroupBackend, CgroupLimits, JobCgroup } from './types.ts'

export type CgroupV1Mounts = {
  /** Controller name → directory of this service's parent cgroup in that controller's hierarchy. */
  memory: string
  pids: string
  cpuacct: string
  cpu: string | undefined
}

export function createCgroupV1Backend(parents: CgroupV1Mounts): CgroupBackend {
  const parentDirs = [...new Set([parents.memory, parents.pids, parents.cpuacct, parents.cpu].filter((d): d is string => !!d))]
  for (const dir of parentDirs) mkdirSync(dir, { recursive: true })

  function create(name: string, limits: CgroupLimits, owner?: { uid: number; gid: number }, spare?: ReadonlySet<number>): JobCgroup {
    const memory = path.join(parents.memory, name)
    const pids = path.join(parents.pids, name)
    const cpuacct = path.join(parents.cpuacct, name)
    const cpu = parents.cpu ? path.join(parents.cpu, name) : undefined
    const dirs = [...new Set([memory, pids, cpuacct, cpu].filter((d): d is string => !!d))]
    for (const dir of dirs) mkdirSync(dir)

    writeControl(path.join(memory, 'memory.limit_in_bytes'), limits.memoryBytes)
    // No swap: the memory limit must mean RAM + swap, or a job could page past it.
    tryWriteControl(path.join(memory, 'memory.memsw.limit_in_bytes'), limits.memoryBytes)
    tryWriteControl(path.join(memory, 'memory.swappiness'), 0)
    writeControl(path.join(pids, 'pids.max'), limits.pids)
    if (cpu) {
      tryWriteControl(path.join(cpu, 'cpu.cfs_period_us'), 100_000)
      tryWriteControl(path.join(cpu, 'cpu.cfs_quota_us'), Math.max(1000, Math.round(limits.cpuCores * 100_000)))
    }

    const selfJoinFiles = dirs.map((dir) => path.join(dir, 'tasks'))
    if (owner) for (const file of selfJoinFiles) chownSync(file, owner.uid, owner.gid)

    const cpuSeconds = () => readNumber(path.join(cpuacct, 'cpuacct.usage')) / 1e9
    let memoryBytes = limits.memoryBytes
    return {
      selfJoinFiles,
      startAccounting(bytes) {
        if (bytes !== memoryBytes) {
          // memory+swap may never be below memory: lower memory first, raise memory+swap first.
          const setMemory = () => writeControl(path.join(memory, 'memory.limit_in_bytes'), bytes)
          const setSwap = () => tryWriteControl(path.join(memory, 'memory.memsw.limit_in_bytes'), bytes)
          if (bytes > memoryBytes) {
            setSwap()
            setMemory()
          } else {
            setMemory()
            setSwap()
          }
          memoryBytes = bytes
        }
        writeControl(path.join(cpuacct, 'cpuacct.usage'), 0)
        writeControl(path.join(memory, 'memory.max_usage_in_bytes'), 0)
      },
      addProcess(pid) {
        for (const dir of dirs) writeControl(path.join(dir, 'cgroup.procs'), pid)
      },
      cpuSeconds,
      stats() {
        const oom = readKeyValues(path.join(memory, 'memory.oom_control'))
        return {
          cpuSeconds: cpuSeconds(),
          memoryPeakBytes: readNumber(path.join(memory, 'memory.max_usage_in_bytes')),
          oomKilled: (oom.get('oom_kill') ?? 0) > 0,
        }
      },
      async killAll() {
        await killAllIn(path.join(pids, 'cgroup.procs'), spare)
      },
      async destroy() {
        await killAllIn(path.join(pids, 'cgroup.procs'), spare)
        for (const dir of dirs) await removeCgroupDir(dir)
      },
    }
  }

  return {
    version: 'v1',
    parentDirs,
    controllers: ['memory', 'pids', 'cpuacct', ...(parents.cpu ? ['cpu'] : [])],
    create,
    async close() {
      for (const dir of parentDirs) await removeCgroupDir(dir)
    },
  }
}
