// One job's clock and kill path, shared by every process it starts (install steps, then the
// entrypoint): the wall timeout, the CPU-seconds budget, cancellation, and usage reports whose
// answer may hold the job. The timeout and the budget cover all steps together, as the cgroup's
// accounting does. Time a job spends paused for other clients' jobs (`pause`, the service's own
// doing) moves its deadline, up to its timeout once more; time held for its client's used-up
// quota (`hold`) does not.
import type { JobCgroup } from './cgroups/types.ts'
import type { JobUsage, RunJobParameters } from './sandbox.ts'
import type { SandboxHostRuntime } from './sandboxHostRuntime.ts'
import type { Manifest, Termination } from './types.ts'

/** How often a held job's CPU is checked against its budget (others: `cpuPollMs`). */
const heldCpuPollMs = 1000

export type CreateJobControlParameters = Pick<RunJobParameters, 'signal' | 'onStart' | 'onUsage' | 'onReporter' | 'cpuWeight'> & {
  runtime: Pick<SandboxHostRuntime, 'cpuPollMs' | 'usagePollMs'>
  manifest: Pick<Manifest, 'timeout' | 'cpu_seconds'>
  cgroup: JobCgroup | undefined
  /** The job's usage now (its cgroup's CPU seconds once measuring, output and inflated bytes). */
  usage: () => JobUsage
  /** Set here: `measuring` once the clock starts (CPU seconds count from then on), `held` while a report holds the job. */
  meter: { measuring: boolean; held: boolean }
}

export type JobControl = {
  /** Why the job was stopped; undefined while nobody stopped it. */
  readonly killReason: Termination | undefined
  /** Stops every process of the job; the first reason is the one reported. */
  kill(reason: Termination): void
  /** The process now running, which a kill must reach, or undefined between steps. */
  running(process: { kill(): void } | undefined): void
  /** Starts the clock with the job's first process (a no-op once started). */
  started(): void
  /** Clears every timer (the job's processes have exited); a cancellation still counts until close(). */
  stopTimers(): void
  /** Clears every timer and the abort listener; safe to call twice. */
  close(): void
}

export function createJobControl({ runtime, manifest, cgroup, signal, onStart, onUsage, onReporter, cpuWeight, usage, meter }: CreateJobControlParameters): JobControl {
  const timers: NodeJS.Timeout[] = []
  /** Whether usage reports go out (from the clock's start until the processes have exited). */
  let reporting = false
  let deadlineTimer: NodeJS.Timeout | undefined
  let clockStartedAt = 0
  let pausedSince: number | undefined
  let pauseCreditMs = 0
  /** Adds the time paused so far to the credit (a pause still going on goes on counting from now). */
  const creditPause = () => {
    if (pausedSince === undefined) return
    const now = performance.now()
    pauseCreditMs = Math.min(manifest.timeout * 1000, pauseCreditMs + now - pausedSince)
    pausedSince = now
  }
  const scheduleDeadline = () => {
    clearTimeout(deadlineTimer)
    const left = clockStartedAt + manifest.timeout * 1000 + pauseCreditMs - performance.now()
    deadlineTimer = setTimeout(() => {
      const credited = pauseCreditMs
      creditPause()
      if (pauseCreditMs > credited) scheduleDeadline()
      else kill('timeout')
    }, Math.max(0, left))
  }
  let killReason: Termination | undefined
  let current: { kill(): void } | undefined
  const kill = (reason: Termination) => {
    const first = killReason === undefined
    killReason ??= reason
    current?.kill()
    void cgroup?.killAll()
    // A start in flight can still add a process after this sweep (bwrap's namespace child,
    // cloned just before its parent was killed, outlives it): sweep until the step has exited.
    if (first && cgroup) timers.push(setInterval(() => void cgroup.killAll(), 25))
  }
  const weigh = () => {
    if (cpuWeight && cgroup) cgroup.weigh(cpuWeight())
  }
  // Weighed before any of its code runs.
  weigh()
  const onAbort = () => kill('cancelled')
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) kill('cancelled')

  // The client's answer to each report decides whether the job runs or is held (its quota), or
  // paused where the host can (it gives way to other jobs).
  const report = () => {
    const verdict = onUsage?.(usage())
    const held = verdict === 'hold' || verdict === 'pause'
    if (held !== meter.held && cgroup) {
      if (cgroup.hold(held)) meter.held = held
      else if (verdict === 'hold') kill('cpu_limit')
    }
    if (meter.held && verdict === 'pause') pausedSince ??= performance.now()
    else if (pausedSince !== undefined) {
      creditPause()
      pausedSince = undefined
      scheduleDeadline()
    }
    // With what the report charged counted.
    weigh()
  }
  const startClock = () => {
    onStart?.()
    meter.measuring = true
    if (onUsage || cpuWeight) {
      reporting = true
      timers.push(setInterval(report, runtime.usagePollMs))
      if (onUsage) onReporter?.(() => void (reporting && report()))
    }
    clockStartedAt = performance.now()
    scheduleDeadline()
    if (cgroup) {
      const budget = manifest.cpu_seconds
      let checkedAt = Number.NEGATIVE_INFINITY
      timers.push(
        setInterval(() => {
          // A held job gets 1 % of a core at most (10 ms a second): once a second is close enough,
          // and a service with many quota-held jobs no longer reads each one's CPU 20 times a second.
          const now = performance.now()
          if (meter.held && now - checkedAt < heldCpuPollMs) return
          checkedAt = now
          if (cgroup.cpuSeconds() > budget) kill('cpu_limit')
        }, runtime.cpuPollMs),
      )
    }
  }
  return {
    get killReason() {
      return killReason
    },
    kill,
    running(process) {
      current = process
    },
    started() {
      if (deadlineTimer === undefined) startClock()
    },
    stopTimers() {
      reporting = false
      for (const timer of timers) clearTimeout(timer)
      clearTimeout(deadlineTimer)
    },
    close() {
      reporting = false
      for (const timer of timers) clearTimeout(timer)
      clearTimeout(deadlineTimer)
      signal?.removeEventListener('abort', onAbort)
    },
  }
}
