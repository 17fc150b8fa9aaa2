// How long the service's event loop was held up lately (operators and the soak benchmark read it in
// GET /stats): a monitorEventLoopDelay histogram per minute, reported over the current and the
// previous minute so a spike just before a reset is still seen.
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks'

export type EventLoopDelay = {
  /** 99th percentile and maximum delay over the last one to two minutes, in milliseconds. */
  p99Ms: number
  maxMs: number
}

export type EventLoopMonitor = {
  delay(): EventLoopDelay
  close(): void
}

const windowMs = 60_000

export function createEventLoopMonitor(): EventLoopMonitor {
  let current: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 })
  let previous: EventLoopDelay = { p99Ms: 0, maxMs: 0 }
  current.enable()
  const summary = (histogram: IntervalHistogram): EventLoopDelay => ({
    p99Ms: histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0,
    maxMs: histogram.count > 0 ? histogram.max / 1e6 : 0,
  })
  const rotate = setInterval(() => {
    previous = summary(current)
    current.disable()
    current = monitorEventLoopDelay({ resolution: 10 })
    current.enable()
  }, windowMs)
  rotate.unref()
  return {
    delay() {
      const now = summary(current)
      const round = (ms: number) => Math.round(ms * 10) / 10
      return { p99Ms: round(Math.max(now.p99Ms, previous.p99Ms)), maxMs: round(Math.max(now.maxMs, previous.maxMs)) }
    },
    close() {
      clearInterval(rotate)
      current.disable()
    },
  }
}
