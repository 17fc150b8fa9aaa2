// The cgroup backends' common shape. A job gets one cgroup (per hierarchy on v1) that its whole
// process tree is placed in before any job code runs; limits, accounting and the final kill
// all go through it.

export type CgroupLimits = {
  memoryBytes: number
  pids: number
  /** CPU bandwidth in cores (cfs quota); the total `cpu_seconds` budget is enforced by polling. */
  cpuCores: number
}

export type CgroupStats = {
  cpuSeconds: number
  memoryPeakBytes: number
  oomKilled: boolean
}

export type JobCgroup = {
  /** Moves a process (and its future children) into the job's cgroup(s). Synchronous, so nothing runs first. */
  addProcess(pid: number): void
  /**
   * v1 only: files the service's spawner writes "0" to in order to move itself in before it forks a
   * job process there. Moving oneself (a single thread, by pid 0) skips the kernel's global
   * threadgroup lock, whose RCU grace period otherwise costs ~10 ms per job. Owned by root, never by
   * the job's user (a job must not move processes between cgroups). Null on v2.
   */
  selfJoinFiles: string[] | null
  /**
   * v2 only: the job cgroup's directory. The native launcher starts processes in it with
   * clone3(CLONE_INTO_CGROUP) (Linux 5.7+): born inside, nothing migrated. Null on v1.
   */
  cloneIntoDir: string | null
  /**
   * For a cgroup created ahead of its job (a pre-started sandbox), sets the job's memory limit and
   * starts CPU, OOM and peak-memory accounting afresh, so the job is measured from here on and the
   * sandbox's own start-up is not counted (v2 before Linux 6.12: the peak cannot be reset, and
   * includes the few MB of the sandbox's start-up).
   */
  startAccounting(memoryBytes: number): void
  /** Total CPU time used so far, in seconds. */
  cpuSeconds(): number
  /**
   * Holds the job (its CPU bandwidth cut to 1% of a core) or lets it run again; false when this
   * host's cgroups have no CPU controller to do it with.
   */
  hold(held: boolean): boolean
  /**
   * The job's CPU weight among the service's jobs when they compete for a core: 1 is the full
   * weight (what every job gets at first), down to `minJobCpuWeight`. Does nothing where this
   * host's cgroups have no CPU controller.
   */
  weigh(weight: number): void
  stats(): CgroupStats
  /** SIGKILLs every process still in the cgroup, until it is empty (never the service's own helpers). */
  killAll(): Promise<void>
  destroy(): Promise<void>
}

export type CgroupBackend = {
  version: 'v1' | 'v2'
  controllers: string[]
  /** The service's parent cgroup directories (recorded so a later start can remove them after a crash). */
  parentDirs: string[]
  /** `spare`: pids a kill never touches (the spawner, which passes through job cgroups). */
  create(name: string, limits: CgroupLimits, spare?: ReadonlySet<number>): JobCgroup
  /** Removes the service's parent cgroup(s) once every job cgroup is gone. */
  close(): Promise<void>
}

/**
 * The CPU weight of all of a service's jobs together, as a share of the service's own: when both
 * want the CPU, the service (accepting, answering, relaying output, charging quotas) runs first,
 * and jobs still get every cycle it leaves. A flood of CPU-bound jobs cannot slow the answers to
 * other clients. v1: cpu.shares 256 against a process's 1024; v2: cpu.weight 25 against 100.
 */
export const jobsCpuShare = 0.25

/** The lowest weight `JobCgroup.weigh` sets: v1 cpu.shares 10 of 1024, v2 cpu.weight 1 of 100. */
export const minJobCpuWeight = 0.01

/** A job's weight as the cgroup file wants it (`full`: 1024 on v1, 100 on v2), within the bounds. */
export function cpuWeightValue(weight: number, full: number): number {
  const bounded = Number.isFinite(weight) ? Math.min(1, Math.max(minJobCpuWeight, weight)) : 1
  return Math.max(1, Math.round(bounded * full))
}
