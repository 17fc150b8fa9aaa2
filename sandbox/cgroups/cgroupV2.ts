// cgroup v2 backend: one directory per job under this service's own cgroup, with memory, pids
// and cpu (where delegated) enabled for the subtree. v2 forbids processes in a cgroup that
// delegates controllers, so the service's processes move to a leaf (`sandrun-service`) first, as
// runc does; every sandbox of the service (and a restarted one) then shares that layout.
import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeSync } from 'node:fs'
import path from 'node:path'
import { killAllIn, killMemory, listPids, readKeyValues, readNumber, removeCgroupDir, tryWriteControl, writeControl } from './cgroupFiles.ts'
import { cpuWeightValue, jobsCpuShare, type CgroupBackend, type CgroupLimits, type JobCgroup } from './types.ts'
import { errorCodeOf } from '../../errors/index.ts'

const required = ['memory', 'pids'] as const
/** cpu is optional: a user's systemd delegates it only on newer versions. */
const wanted = [...required, 'cpu'] as const
const serviceLeaf = 'sandrun-service'
/** Emptied job cgroups kept for reuse (only where memory.peak can be reset, see `peakReset`). */
const maxIdleSlots = 16
/** Memory still charged to an emptied cgroup up to which it is reused (it counts towards the next job). */
const maxIdleChargeBytes = 2 * 1024 * 1024

function readControllers(file: string): string[] {
  return readFileSync(file, 'utf8').trim().split(/\s+/).filter(Boolean)
}

function enableControllers(dir: string, controllers: readonly string[]): void {
  writeControl(path.join(dir, 'cgroup.subtree_control'), controllers.map((c) => `+${c}`).join(' '))
}

/**
 * The directory whose subtree the service manages: its own cgroup, or the parent of the leaf an
 * earlier sandbox of this service moved it to. It delegates the controllers from here on.
 */
function delegate(own: string): { base: string; controllers: string[] } {
  const base = path.basename(own) === serviceLeaf ? path.dirname(own) : own
  const controllers = wanted.filter((c) => readControllers(path.join(base, 'cgroup.controllers')).includes(c))
  const missing = required.filter((c) => !controllers.includes(c))
  if (missing.length > 0) throw Object.assign(new Error(`${base} does not offer the ${missing.join(' and ')} controller${missing.length > 1 ? 's' : ''}`), { code: 'ENOCONTROLLER' })
  const enabled = readControllers(path.join(base, 'cgroup.subtree_control'))
  if (controllers.every((c) => enabled.includes(c))) return { base, controllers }
  try {
    enableControllers(base, controllers)
  } catch (error) {
    // Processes here (the root cgroup is exempt): they move to the leaf, then the subtree delegates.
    if (errorCodeOf(error) !== 'EBUSY') throw error
    const leaf = path.join(base, serviceLeaf)
    mkdirSync(leaf, { recursive: true })
    for (const pid of listPids(path.join(base, 'cgroup.procs'))) tryWriteControl(path.join(leaf, 'cgroup.procs'), pid)
    enableControllers(base, controllers)
  }
  return { base, controllers }
}

/**
 * Can memory.peak be reset (Linux 6.12+: a write resets the peak seen through that open file)?
 * Without it a reused cgroup would report the previous job's peak, so cgroups are not reused.
 */
function openResetPeak(dir: string): number | null {
  try {
    const fd = openSync(path.join(dir, 'memory.peak'), 'r+')
    try {
      writeSync(fd, 'reset\n')
      return fd
    } catch {
      closeSync(fd)
      return null
    }
  } catch {
    return null
  }
}

function readPeak(fd: number): number {
  const buffer = Buffer.alloc(32)
  const length = readSync(fd, buffer, 0, buffer.length, 0)
  return Number(buffer.subarray(0, length).toString().trim()) || 0
}

/** `own`: this process's cgroup directory; job cgroups go in `sandrun-<instance>` beside it. */
export function createCgroupV2Backend({ own, instance }: { own: string; instance: string }): CgroupBackend {
  const { base, controllers } = delegate(own)
  const parent = path.join(base, `sandrun-${instance}`)
  mkdirSync(parent, { recursive: true })
  enableControllers(parent, controllers)
  if (controllers.includes('cpu')) tryWriteControl(path.join(parent, 'cpu.weight'), Math.round(100 * jobsCpuShare))

  /**
   * `killed`: cgroup.kill was written to it. Linux 6.12 kills every process later cloned into such
   * a cgroup with CLONE_INTO_CGROUP (its fork/kill race fix compares kill sequence numbers), so a
   * killed cgroup is never reused; one that emptied by itself is.
   */
  type Slot = { dir: string; killed: boolean }
  const idleSlots: Slot[] = []
  let closed = false
  let peakResets: boolean | undefined

  function create(name: string, limits: CgroupLimits): JobCgroup {
    const drained = idleSlots.findIndex((idle) => readNumber(path.join(idle.dir, 'pids.current')) === 0)
    const slot = drained >= 0 ? idleSlots.splice(drained, 1)[0]! : { dir: path.join(parent, name), killed: false }
    const { dir } = slot
    if (drained < 0) mkdirSync(dir)
    const setMemoryLimit = (bytes: number) => writeControl(path.join(dir, 'memory.max'), bytes)
    setMemoryLimit(limits.memoryBytes)
    tryWriteControl(path.join(dir, 'memory.swap.max'), 0)
    writeControl(path.join(dir, 'pids.max'), limits.pids)
    const cpuMax = `${Math.max(1000, Math.round(limits.cpuCores * 100_000))} 100000`
    tryWriteControl(path.join(dir, 'cpu.max'), cpuMax)
    // A reused cgroup starts at the full weight again.
    let weightValue = 100
    tryWriteControl(path.join(dir, 'cpu.weight'), weightValue)

    // v2 counters cannot be reset: a job's share is what they gained since its accounting began.
    const usageUsec = () => readKeyValues(path.join(dir, 'cpu.stat')).get('usage_usec') ?? 0
    const oomKills = () => readKeyValues(path.join(dir, 'memory.events')).get('oom_kill') ?? 0
    let cpuBaseline = 0
    let oomBaseline = 0
    let peakFd: number | null = null
    const resetAccounting = () => {
      cpuBaseline = usageUsec()
      oomBaseline = oomKills()
      if (peakFd !== null) closeSync(peakFd)
      peakFd = peakResets === false ? null : openResetPeak(dir)
      peakResets ??= peakFd !== null
    }
    resetAccounting()

    const cpuSeconds = () => (usageUsec() - cpuBaseline) / 1e6
    const procs = path.join(dir, 'cgroup.procs')
    let released = false
    const signalled = killMemory()
    const sweeps = new Set<Promise<void>>()
    // Pid by pid first: what is left when a job ends (bwrap's exiting pid 1, a sleeper) is gone in
    // a round or two, and the cgroup stays reusable. Only what outruns that (a fork bomb) gets
    // cgroup.kill (Linux 5.14+: the whole cgroup at once, forks in flight included), and the
    // sweep after it covers older kernels and waits until the cgroup is empty.
    const sweep = async (stopped?: () => boolean) => {
      await killAllIn(procs, { stopped, rounds: 8, signalled })
      if (stopped?.() || listPids(procs).length === 0) return
      slot.killed = true
      tryWriteControl(path.join(dir, 'cgroup.kill'), 1)
      await killAllIn(procs, { stopped, signalled })
    }
    return {
      selfJoinFiles: null,
      cloneIntoDir: dir,
      startAccounting(bytes) {
        setMemoryLimit(bytes)
        resetAccounting()
      },
      addProcess(pid) {
        writeControl(procs, pid)
      },
      cpuSeconds,
      // Held: 1 ms per 100 ms period, the smallest quota the kernel takes.
      hold: (held) => tryWriteControl(path.join(dir, 'cpu.max'), held ? '1000 100000' : cpuMax),
      weigh(weight) {
        const value = cpuWeightValue(weight, 100)
        if (value !== weightValue && tryWriteControl(path.join(dir, 'cpu.weight'), value)) weightValue = value
      },
      stats() {
        return {
          cpuSeconds: cpuSeconds(),
          // memory.peak needs Linux 5.19; older kernels report the current usage, a lower bound.
          memoryPeakBytes: (peakFd !== null ? readPeak(peakFd) : readNumber(path.join(dir, 'memory.peak'))) || readNumber(path.join(dir, 'memory.current')),
          oomKilled: oomKills() > oomBaseline,
        }
      },
      async killAll() {
        if (released) return
        const running = sweep(() => released)
        sweeps.add(running)
        await running.finally(() => sweeps.delete(running))
      },
      async destroy() {
        if (released) return
        await sweep()
        // A sweep still running stops here, before the cgroup can go to another job.
        released = true
        await Promise.all(sweeps)
        if (peakFd !== null) closeSync(peakFd)
        const reusable = peakResets === true && !slot.killed && !closed && idleSlots.length < maxIdleSlots
        if (reusable && readNumber(path.join(dir, 'memory.current')) <= maxIdleChargeBytes && listPids(procs).length === 0) {
          idleSlots.push(slot) // taken oldest first: those have had the longest to drain
          return
        }
        await removeCgroupDir(dir)
      },
    }
  }

  return {
    version: 'v2',
    parentDirs: [parent],
    controllers,
    create,
    async close() {
      closed = true
      for (const slot of idleSlots.splice(0)) await removeCgroupDir(slot.dir)
      await removeCgroupDir(parent)
    },
  }
}
