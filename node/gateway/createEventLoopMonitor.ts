// How long the service's event loop was held up lately (operators and the soak benchmark read it in
// GET /stats): a monitorEventLoopDelay histogram per minute, reported over the current and the
// previous minute so a spike just before a reset is still seen.
// A late turn has two causes that call for different fixes: the service's own work (a long
// synchronous stretch, a garbage collection: its code to fix) or its main thread waiting for a CPU
// other processes hold (the host's load: cores or CPU weights to fix). The main thread's scheduler
// statistics (/proc/thread-self/schedstat: time on a CPU, time waiting for one) tell them apart:
// a 10 ms timer notes how much of each passed between two of its turns, and the longest of each is
// reported beside the delay.
import { closeSync, openSync, readSync } from 'node:fs'
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

export type EventLoopDelay = {
  /** 99th percentile and maximum delay over the last one to two minutes, in milliseconds. */
  p99Ms: number
  maxMs: number
  /** The longest the main thread ran between two turns of a 10 ms timer (its own work); null where the kernel does not say. */
  maxRunningMs: number | null
  /** The longest the main thread waited for a CPU between two such turns (other processes' load); null likewise. */
  maxWaitingForCpuMs: number | null
}

export type EventLoopMonitor = {
  delay(): EventLoopDelay
  /** Forgets what was measured so far: the service calls it once it listens, so its start (loading, building routes) is not reported as a stall no client waited on. */
  restart(): void
  close(): void
}

const windowMs = 60_000
const tickMs = 10

type ThreadTimes = { runningNs: number; waitingNs: number }

/** Reads the calling thread's CPU and run-queue times (ns) through one descriptor; null where /proc has no schedstat. */
export function threadTimesReader(): { read(): ThreadTimes | null; close(): void } | null {
  let fd: number
  try {
    fd = openSync('/proc/thread-self/schedstat', 'r')
  } catch {
    return null
  }
  const buffer = Buffer.alloc(128)
  return {
    read() {
      try {
        const length = readSync(fd, buffer, 0, buffer.length, 0)
        const [running, waiting] = buffer.toString('latin1', 0, length).split(' ').map(Number)
        return Number.isFinite(running) && Number.isFinite(waiting) ? { runningNs: running!, waitingNs: waiting! } : null
      } catch {
        return null
      }
    },
    close: () => closeSync(fd),
  }
}

export function createEventLoopMonitor(): EventLoopMonitor {
  let current: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
  type Window = { p99Ms: number; maxMs: number; maxRunningMs: number; maxWaitingMs: number }
  let previous: Window = { p99Ms: 0, maxMs: 0, maxRunningMs: 0, maxWaitingMs: 0 }
  let longest = { runningMs: 0, waitingMs: 0 }
  current.enable()
  const summary = (histogram: IntervalHistogram): Window => ({
    p99Ms: histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0,
    maxMs: histogram.count > 0 ? histogram.max / 1e6 : 0,
    maxRunningMs: longest.runningMs,
    maxWaitingMs: longest.waitingMs,
  })

  // Opened here, on the main thread: /proc/thread-self names the thread that opens it.
  const threadTimes = threadTimesReader()
  let last = threadTimes?.read() ?? null
  const tick = threadTimes
    ? setInterval(() => {
        const now = threadTimes.read()
        if (now && last) {
          longest.runningMs = Math.max(longest.runningMs, (now.runningNs - last.runningNs) / 1e6)
          longest.waitingMs = Math.max(longest.waitingMs, (now.waitingNs - last.waitingNs) / 1e6)
        }
        last = now
      }, tickMs)
    : undefined
  tick?.unref()

  const fresh = () => {
    longest = { runningMs: 0, waitingMs: 0 }
    current.disable()
    current = monitorEventLoopDelay({ resolution: 10 })
    current.enable()
  }
  const rotate = setInterval(() => {
    previous = summary(current)
    fresh()
  }, windowMs)
  rotate.unref()
  return {
    delay() {
      const now = summary(current)
      const round = (ms: number) => Math.round(ms * 10) / 10
      return {
        p99Ms: round(Math.max(now.p99Ms, previous.p99Ms)),
        maxMs: round(Math.max(now.maxMs, previous.maxMs)),
        maxRunningMs: threadTimes ? round(Math.max(now.maxRunningMs, previous.maxRunningMs)) : null,
        maxWaitingForCpuMs: threadTimes ? round(Math.max(now.maxWaitingMs, previous.maxWaitingMs)) : null,
      }
    },
    restart() {
      previous = { p99Ms: 0, maxMs: 0, maxRunningMs: 0, maxWaitingMs: 0 }
      last = threadTimes?.read() ?? null
      fresh()
    },
    close() {
      clearInterval(rotate)
      clearInterval(tick)
      threadTimes?.close()
      current.disable()
    },
  }
}
