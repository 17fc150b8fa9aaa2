// One job's clock and kill path, shared by every process it starts (install steps, then the
// entrypoint): the wall timeout, the CPU-seconds budget, cancellation, and usage reports whose
// answer may hold the job. The timeout and the budget cover all steps together, as the cgroup's
// accounting does.
import type { JobCgroup } from './cgroups/types.ts'
import type { JobUsage, RunJobParameters } from './sandbox.ts'
import type { SandboxHostRuntime } from './sandboxHostRuntime.ts'
import type { Manifest, Termination } from './types.ts'

export type CreateJobControlParameters = Pick<RunJobParameters, 'signal' | 'onStart' | 'onUsage'> & {
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

export function createJobControl({ runtime, manifest, cgroup, signal, onStart, onUsage, usage, meter }: CreateJobControlParameters): JobControl {
  const timers: NodeJS.Timeout[] = []
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
  const onAbort = () => kill('cancelled')
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted) kill('cancelled')

  // The client's answer to each report decides whether the job runs or is held (its quota), or
  // paused where the host can (it gives way to other jobs).
  const report = () => {
    const verdict = onUsage?.(usage())
    const held = verdict === 'hold' || verdict === 'pause'
    if (held === meter.held || !cgroup) return
    if (cgroup.hold(held)) meter.held = held
    else if (verdict === 'hold') kill('cpu_limit')
  }
  const startClock = () => {
    onStart?.()
    meter.measuring = true
    if (onUsage) timers.push(setInterval(report, runtime.usagePollMs))
    timers.push(setTimeout(() => kill('timeout'), manifest.timeout * 1000))
    if (cgroup) {
      const budget = manifest.cpu_seconds
      timers.push(
        setInterval(() => {
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
      if (timers.length === 0) startClock()
    },
    stopTimers() {
      for (const timer of timers) clearTimeout(timer)
    },
    close() {
      for (const timer of timers) clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
    },
  }
}
