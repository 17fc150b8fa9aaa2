// The clock retention runs on: when a job's data expires and the timer that deletes it. Backends and
// workers take it as a component, so a test can let an hour of retention pass in an instant.
export type Clock = {
  /** Milliseconds since the epoch. */
  now(): number
  /** Runs `callback` once `ms` have passed on this clock (never keeps the process alive); returns a cancel function. */
  after(ms: number, callback: () => void | Promise<void>): () => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  after(ms, callback) {
    const timer = setTimeout(() => void Promise.resolve(callback()).catch(() => undefined), Math.max(0, ms))
    timer.unref()
    return () => clearTimeout(timer)
  },
}
