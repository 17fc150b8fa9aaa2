// A clock the test moves by hand: advance() runs every timer that has come due, in order, and waits
// for what they started (a deletion), so the test can look at the disk right after.
import type { Clock } from '../../node/clock/systemClock.ts'

export type ManualClock = Clock & {
  advance(ms: number): Promise<void>
  /** Timers waiting to run. */
  pending(): number
}

export function manualClock(start = Date.now()): ManualClock {
  let current = start
  let nextId = 0
  const timers = new Map<number, { at: number; callback: () => void | Promise<void> }>()
  return {
    now: () => current,
    after(ms, callback) {
      const id = nextId++
      timers.set(id, { at: current + Math.max(0, ms), callback })
      return () => timers.delete(id)
    },
    async advance(ms) {
      const target = current + ms
      for (;;) {
        const due = [...timers.entries()].filter(([, t]) => t.at <= target).sort((a, b) => a[1].at - b[1].at || a[0] - b[0])[0]
        if (!due) break
        timers.delete(due[0])
        current = Math.max(current, due[1].at)
        await due[1].callback()
      }
      current = target
    },
    pending: () => timers.size,
  }
}
