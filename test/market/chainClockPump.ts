// Moves a test chain's clock straight to the next moment a worker waits for (its commit time, or
// when it is drawn), but only once no worker is running a job and nothing has changed for a
// moment: the same events in the same order as if that chain time had passed, without the wall
// clock's wait. Driven by the workers' own log lines ('job taken', 'result sealed', 'job skipped'
// with recheckAt, ...), so it never hurries a worker that is working.

export type ChainClockPump = {
  /** Feeds one of `worker`'s log entries. */
  observe(worker: string, message: string, context: Record<string, unknown>): void
  /** The worker stopped: nothing it waited for counts any more. */
  forget(worker: string): void
  /** How many times the pump moved the clock. */
  jumps(): number
  stop(): void
}

export type StartChainClockPumpParameters = {
  /** The chain time of the next block, seconds. */
  now: () => Promise<number>
  /** Mines a block at `timestamp`. */
  jumpTo: (timestamp: number) => Promise<void>
  /** How long every worker must have been idle or waiting before a jump (gossip and decisions take a moment). */
  quietMs?: number
  everyMs?: number
}

type WorkerState = { running: Set<string>; waits: Map<string, number> }

export function startChainClockPump({ now, jumpTo, quietMs = 1000, everyMs = 200 }: StartChainClockPumpParameters): ChainClockPump {
  const workers = new Map<string, WorkerState>()
  let changedAt = Date.now()
  let count = 0
  let busy = false
  const stateOf = (worker: string): WorkerState => {
    let state = workers.get(worker)
    if (!state) workers.set(worker, (state = { running: new Set(), waits: new Map() }))
    return state
  }

  const timer = setInterval(() => {
    if (busy || Date.now() - changedAt < quietMs) return
    const states = [...workers.values()]
    if (states.some((s) => s.running.size > 0)) return
    const targets = states.flatMap((s) => [...s.waits.values()])
    if (targets.length === 0) return
    busy = true
    void (async () => {
      const current = await now()
      const next = Math.min(...targets.filter((t) => t > current))
      if (Number.isFinite(next) && Date.now() - changedAt >= quietMs) {
        await jumpTo(next)
        count++
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        busy = false
      })
  }, everyMs)
  timer.unref()

  return {
    observe(worker, message, context) {
      const jobId = typeof context.jobId === 'string' ? context.jobId : undefined
      if (!jobId) return
      const state = stateOf(worker)
      changedAt = Date.now()
      if (message === 'job taken' || message === 'job running') {
        state.running.add(jobId)
        state.waits.delete(jobId)
      } else if (message === 'result sealed' && typeof context.commitFrom === 'number') {
        state.running.delete(jobId)
        state.waits.set(jobId, context.commitFrom)
      } else if (message === 'job skipped' && typeof context.recheckAt === 'number') {
        state.waits.set(jobId, context.recheckAt)
      } else if (['result committed', 'job skipped', 'job failed', 'job dropped', 'job offer failed', 'job settled'].includes(message)) {
        state.running.delete(jobId)
        state.waits.delete(jobId)
      }
    },
    forget(worker) {
      workers.delete(worker)
      changedAt = Date.now()
    },
    jumps: () => count,
    stop: () => clearInterval(timer),
  }
}
