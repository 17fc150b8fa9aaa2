// Per-client (IP) limits of Sandrun: CPU seconds per rolling minute, concurrent jobs, jobs per
// rolling hour. A submission reserves its place before the upload is parsed, so parallel requests
// from one client cannot slip past the concurrency limit together. CPU is charged as it is used
// (running jobs about once a second, the service's work for the client as it happens), and a client
// whose minute is used up has its running jobs held (`exhausted`) until charges leave the window.
import type { RateLimitOptions } from './config.ts'

const minuteMs = 60_000
const hourMs = 60 * minuteMs

export type RateLimitVerdict = { allowed: true } | { allowed: false; reason: string; retryAfterSeconds: number }

export type ClientQuota = {
  used: number
  limit: number
  available: number
  active_jobs: number
  can_submit: boolean
  reason: string
  /** Seconds until a submission can pass again; 0 when it can now. */
  retry_after: number
}

export type RateLimiterComponents = {
  /** Jobs of this client the backend holds as queued or running. */
  activeJobsOf(clientId: string): number
  now?: (() => number) | undefined
}

type ClientUsage = {
  cpu: Array<{ at: number; seconds: number }>
  /** Sum of `cpu`, kept as charges come and go: a busy client has thousands of them per minute. */
  cpuSeconds: number
  submissions: number[]
  pending: number
}

export type RateLimiter = {
  /** Checks the limits and, when allowed, reserves a submission; call `release` or `commit` after. */
  reserve(clientId: string): RateLimitVerdict
  /** The submission was accepted: it counts toward the hourly limit. */
  commit(clientId: string): void
  /** The submission was refused (bad input): give its place back. */
  release(clientId: string): void
  chargeCpu(clientId: string, seconds: number): void
  /** True while the CPU seconds charged in the last minute reach the limit. */
  exhausted(clientId: string): boolean
  /** CPU seconds charged to the client in the last minute. */
  usedSeconds(clientId: string): number
  quota(clientId: string): ClientQuota
}

export function createRateLimiter(options: RateLimitOptions, components: RateLimiterComponents): RateLimiter {
  const now = components.now ?? Date.now
  const clients = new Map<string, ClientUsage>()
  let lastSweep = now()

  const usageOf = (clientId: string): ClientUsage => {
    let usage = clients.get(clientId)
    if (!usage) {
      usage = { cpu: [], cpuSeconds: 0, submissions: [], pending: 0 }
      clients.set(clientId, usage)
    }
    return usage
  }

  const prune = (usage: ClientUsage, at: number): void => {
    while (usage.cpu.length > 0 && usage.cpu[0]!.at <= at - minuteMs) usage.cpuSeconds -= usage.cpu.shift()!.seconds
    // No rounding residue once the window is empty.
    if (usage.cpu.length === 0) usage.cpuSeconds = 0
    while (usage.submissions.length > 0 && usage.submissions[0]! <= at - hourMs) usage.submissions.shift()
  }

  // Forget clients with nothing in their windows, so many one-off addresses do not pile up.
  const sweep = (at: number): void => {
    if (at - lastSweep < minuteMs) return
    lastSweep = at
    for (const [clientId, usage] of clients) {
      prune(usage, at)
      if (usage.cpu.length === 0 && usage.submissions.length === 0 && usage.pending === 0) clients.delete(clientId)
    }
  }

  const verdict = (clientId: string, usage: ClientUsage, at: number): RateLimitVerdict => {
    const active = components.activeJobsOf(clientId) + usage.pending
    if (active >= options.concurrentJobs) {
      return { allowed: false, reason: `Too many concurrent jobs (${active}/${options.concurrentJobs}); wait for one to finish.`, retryAfterSeconds: 1 }
    }
    if (usage.submissions.length + usage.pending >= options.jobsPerHour) {
      const oldest = usage.submissions[0] ?? at
      return {
        allowed: false,
        reason: `Hourly job limit reached (${options.jobsPerHour} jobs per hour).`,
        retryAfterSeconds: Math.max(1, Math.ceil((oldest + hourMs - at) / 1000)),
      }
    }
    const used = usage.cpuSeconds
    if (used >= options.cpuSecondsPerMinute) {
      // Wait until enough old charges leave the window to bring usage under the limit.
      let remaining = used
      let freeAt = at
      for (const charge of usage.cpu) {
        remaining -= charge.seconds
        freeAt = charge.at + minuteMs
        if (remaining < options.cpuSecondsPerMinute) break
      }
      return {
        allowed: false,
        reason: `CPU quota exhausted (${used.toFixed(1)}/${options.cpuSecondsPerMinute.toFixed(1)} seconds used in the last minute).`,
        retryAfterSeconds: Math.max(1, Math.ceil((freeAt - at) / 1000)),
      }
    }
    return { allowed: true }
  }

  return {
    reserve(clientId) {
      const at = now()
      sweep(at)
      const usage = usageOf(clientId)
      prune(usage, at)
      const result = verdict(clientId, usage, at)
      if (result.allowed) usage.pending++
      return result
    },
    commit(clientId) {
      const usage = usageOf(clientId)
      usage.pending = Math.max(0, usage.pending - 1)
      usage.submissions.push(now())
    },
    release(clientId) {
      const usage = usageOf(clientId)
      usage.pending = Math.max(0, usage.pending - 1)
    },
    chargeCpu(clientId, seconds) {
      if (!(seconds > 0)) return
      const usage = usageOf(clientId)
      usage.cpu.push({ at: now(), seconds })
      usage.cpuSeconds += seconds
    },
    exhausted(clientId) {
      const usage = clients.get(clientId)
      if (!usage) return false
      prune(usage, now())
      return usage.cpuSeconds >= options.cpuSecondsPerMinute
    },
    usedSeconds(clientId) {
      const usage = clients.get(clientId)
      if (!usage) return 0
      prune(usage, now())
      return usage.cpuSeconds
    },
    quota(clientId) {
      const at = now()
      const usage = clients.get(clientId) ?? { cpu: [], cpuSeconds: 0, submissions: [], pending: 0 }
      prune(usage, at)
      const used = usage.cpuSeconds
      const result = verdict(clientId, usage, at)
      return {
        used: Math.round(used * 1000) / 1000,
        limit: options.cpuSecondsPerMinute,
        available: Math.max(0, Math.round((options.cpuSecondsPerMinute - used) * 1000) / 1000),
        active_jobs: components.activeJobsOf(clientId),
        can_submit: result.allowed,
        reason: result.allowed ? '' : result.reason,
        retry_after: result.allowed ? 0 : result.retryAfterSeconds,
      }
    },
  }
}
