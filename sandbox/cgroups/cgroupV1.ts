// cgroup v1 backend: one directory per job in each of the memory, pids, cpu and cpuacct
// hierarchies (cpu and cpuacct may share a mount). Used where the kernel exposes these
// controllers on v1, as on the development machine.
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { killAllIn, killMemory, listPids, readKeyValues, readNumber, removeCgroupDir, tryWriteControl, writeControl } from './cgroupFiles.ts'

/** Emptied job cgroups kept for reuse. */
const maxIdleSlots = 16
/** Memory still charged to an emptied cgroup (typically under 1 MiB) up to which it is reused. */
const maxIdleChargeBytes = 2 * 1024 * 1024
/** A held job's CPU bandwidth: 1 ms per 100 ms period, the smallest quota the kernel takes. */
const heldQuotaMicros = 1000
import { cpuWeightValue, jobsCpuShare, type CgroupBackend, type CgroupLimits, type JobCgroup } from './types.ts'

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
  if (parents.cpu) tryWriteControl(path.join(parents.cpu, 'cpu.shares'), Math.round(1024 * jobsCpuShare))

  /** One job cgroup: a directory per hierarchy. Emptied ones are kept and reused (see `destroy`). */
  type Slot = { memory: string; pids: string; cpuacct: string; cpu: string | undefined; dirs: string[]; memoryBytes: number }
  const idleSlots: Slot[] = []
  let closed = false

  function newSlot(name: string): Slot {
    const memory = path.join(parents.memory, name)
    const pids = path.join(parents.pids, name)
    const cpuacct = path.join(parents.cpuacct, name)
    const cpu = parents.cpu ? path.join(parents.cpu, name) : undefined
    const dirs = [...new Set([memory, pids, cpuacct, cpu].filter((d): d is string => !!d))]
    for (const dir of dirs) mkdirSync(dir)
    // No swap: the memory limit must mean RAM + swap, or a job could page past it.
    tryWriteControl(path.join(memory, 'memory.swappiness'), 0)
    if (cpu) tryWriteControl(path.join(cpu, 'cpu.cfs_period_us'), 100_000)
    // Every control file stays root's: only the service's spawner moves processes in (selfJoinFiles).
    return { memory, pids, cpuacct, cpu, dirs, memoryBytes: Number.NaN }
  }

  /** memory+swap may never be below memory: lower memory first, raise memory+swap first. */
  function setMemoryLimit(slot: Slot, bytes: number): void {
    if (bytes === slot.memoryBytes) return
    const setMemory = () => writeControl(path.join(slot.memory, 'memory.limit_in_bytes'), bytes)
    const setSwap = () => tryWriteControl(path.join(slot.memory, 'memory.memsw.limit_in_bytes'), bytes)
    // A fresh cgroup (no limit yet, NaN here) takes memory first too.
    if (bytes > slot.memoryBytes) {
      setSwap()
      setMemory()
    } else {
      setMemory()
      setSwap()
    }
    slot.memoryBytes = bytes
  }

  function create(name: string, limits: CgroupLimits, spare?: ReadonlySet<number>): JobCgroup {
    // Creating and removing a cgroup in four hierarchies costs ~0.4 ms of CPU (and kernel work
    // after it); an emptied one is reset instead.
    // Only a drained one: a process of the last job that is gone but not yet reaped still holds
    // a pids charge there.
    const drained = idleSlots.findIndex((idle) => readNumber(path.join(idle.pids, 'pids.current')) === 0)
    const slot = drained >= 0 ? idleSlots.splice(drained, 1)[0]! : newSlot(name)
    const { memory, pids, cpuacct, cpu, dirs } = slot
    setMemoryLimit(slot, limits.memoryBytes)
    writeControl(path.join(pids, 'pids.max'), limits.pids)
    const quota = Math.max(1000, Math.round(limits.cpuCores * 100_000))
    if (cpu) tryWriteControl(path.join(cpu, 'cpu.cfs_quota_us'), quota)
    // A reused cgroup starts at the full weight again.
    let shares = 1024
    if (cpu) tryWriteControl(path.join(cpu, 'cpu.shares'), shares)
    const resetAccounting = () => {
      writeControl(path.join(cpuacct, 'cpuacct.usage'), 0)
      writeControl(path.join(memory, 'memory.max_usage_in_bytes'), 0)
    }
    resetAccounting()
    // The OOM-kill counter cannot be reset: this job's kills are those above the count now.
    const oomKills = () => readKeyValues(path.join(memory, 'memory.oom_control')).get('oom_kill') ?? 0
    const oomBaseline = oomKills()

    const selfJoinFiles = dirs.map((dir) => path.join(dir, 'tasks'))
    let released = false
    const signalled = killMemory()
    const sweeps = new Set<Promise<void>>()
    const cpuSeconds = () => readNumber(path.join(cpuacct, 'cpuacct.usage')) / 1e9
    return {
      selfJoinFiles,
      cloneIntoDir: null,
      startAccounting(bytes) {
        setMemoryLimit(slot, bytes)
        resetAccounting()
      },
      addProcess(pid) {
        for (const dir of dirs) writeControl(path.join(dir, 'cgroup.procs'), pid)
      },
      cpuSeconds,
      hold(held) {
        return cpu !== undefined && tryWriteControl(path.join(cpu, 'cpu.cfs_quota_us'), held ? heldQuotaMicros : quota)
      },
      weigh(weight) {
        const value = cpuWeightValue(weight, 1024)
        if (cpu && value !== shares && tryWriteControl(path.join(cpu, 'cpu.shares'), value)) shares = value
      },
      stats() {
        return {
          cpuSeconds: cpuSeconds(),
          memoryPeakBytes: readNumber(path.join(memory, 'memory.max_usage_in_bytes')),
          oomKilled: oomKills() > oomBaseline,
        }
      },
      async killAll() {
        if (released) return
        const sweep = killAllIn(path.join(pids, 'cgroup.procs'), { spare, stopped: () => released, signalled })
        sweeps.add(sweep)
        await sweep.finally(() => sweeps.delete(sweep))
      },
      async destroy() {
        if (released) return
        await killAllIn(path.join(pids, 'cgroup.procs'), { spare, signalled })
        // Sweeps still running (a kill's repeats) stop here, before another job can be placed.
        released = true
        await Promise.all(sweeps)
        // Kept for the next job when empty and charged with little memory (kernel objects of the
        // sandbox being freed, page cache): that rest counts towards the next job, so a cgroup
        // that holds more goes. (memory.force_empty would reclaim it, but waits for objects that
        // are freed asynchronously, often ~10 ms.)
        const charged = readNumber(path.join(memory, 'memory.usage_in_bytes'))
        if (!closed && idleSlots.length < maxIdleSlots && charged <= maxIdleChargeBytes && listPids(path.join(pids, 'cgroup.procs')).length === 0) {
          idleSlots.push(slot) // taken oldest first: those have had the longest to drain
          return
        }
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
      closed = true
      for (const slot of idleSlots.splice(0)) for (const dir of slot.dirs) await removeCgroupDir(dir)
      for (const dir of parentDirs) await removeCgroupDir(dir)
    },
  }
}
