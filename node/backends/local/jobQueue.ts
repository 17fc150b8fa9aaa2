// Job queue with a fixed number of slots. Jobs wait, run when a slot frees, and can be withdrawn
// while waiting; a job's place in line is what /submit and /status report. A freed slot goes to
// the waiting job whose client has used the least lately (`order`: the CPU seconds charged to it
// in the quota's window), ties in submission order: a client that keeps the slots busy with long
// jobs cannot make a light client's job wait behind all of its own (the hostile soak's honest jobs
// sat queued for over 30 s behind CPU hogs under plain FIFO). A running job that lends its slot
// (held: its client's CPU quota is used up; or idle: it uses no CPU) gives it to the next one; when
// it goes on, it takes a slot again at once, even if that means one job more than the slots for a
// while.

export type QueuedTask = {
  run(): Promise<void>
}

export type JobQueueOptions<T> = {
  /** How many tasks run at once. */
  parallelism: number
  /** Lower goes first (read when a slot frees); equal ones in submission order. Default: FIFO. */
  order?: ((task: T) => number) | undefined
}

export type JobQueue<T extends QueuedTask> = {
  enqueue(task: T): number
  /** 1-based place among waiting tasks; 0 when running or not queued. */
  position(task: T): number
  /** Removes a waiting task; returns false when it is not waiting (running or unknown). */
  withdraw(task: T): boolean
  /** A running task lends its slot to the next task (held, idle) or takes one again. */
  setHeld(task: T, held: boolean): void
  readonly waiting: number
  /** The order value of the task that would start next (Infinity when none waits; 0 without `order`). */
  nextOrder(): number
  readonly running: number
  readonly parallelism: number
}

export function createJobQueue<T extends QueuedTask>({ parallelism, order }: JobQueueOptions<T>): JobQueue<T> {
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new RangeError(`parallelism must be an integer >= 1, got ${parallelism}`)
  // In submission order; `next` picks from it.
  const waiting: T[] = []
  const active = new Set<T>()
  const held = new Set<T>()
  let running = 0

  /** The waiting tasks in the order they would start now. */
  const lineUp = (): T[] => {
    if (!order) return waiting
    const keyed = waiting.map((task, index) => ({ task, index, key: order(task) }))
    keyed.sort((a, b) => a.key - b.key || a.index - b.index)
    return keyed.map((k) => k.task)
  }
  const next = (): T => {
    if (!order) return waiting.shift() as T
    let best = 0
    let bestKey = order(waiting[0]!)
    for (let i = 1; i < waiting.length; i++) {
      const key = order(waiting[i]!)
      if (key < bestKey) {
        best = i
        bestKey = key
      }
    }
    return waiting.splice(best, 1)[0]!
  }

  const pump = (): void => {
    while (running < parallelism && waiting.length > 0) {
      const task = next()
      running++
      active.add(task)
      // A task reports its own failures; the queue only needs to know that the slot is free again.
      void task
        .run()
        .catch(() => undefined)
        .finally(() => {
          active.delete(task)
          // A held task had given its slot back already.
          if (!held.delete(task)) running--
          pump()
        })
    }
  }

  return {
    enqueue(task) {
      waiting.push(task)
      const position = lineUp().indexOf(task) + 1
      // Starting on the next tick lets the caller answer with the queue position first.
      queueMicrotask(pump)
      return position
    },
    position(task) {
      return waiting.includes(task) ? lineUp().indexOf(task) + 1 : 0
    },
    withdraw(task) {
      const index = waiting.indexOf(task)
      if (index < 0) return false
      waiting.splice(index, 1)
      return true
    },
    setHeld(task, hold) {
      if (!active.has(task) || held.has(task) === hold) return
      if (hold) {
        held.add(task)
        running--
        pump()
      } else {
        held.delete(task)
        running++
      }
    },
    nextOrder() {
      if (waiting.length === 0) return Number.POSITIVE_INFINITY
      if (!order) return 0
      return Math.min(...waiting.map(order))
    },
    get waiting() {
      return waiting.length
    },
    get running() {
      return running
    },
    parallelism,
  }
}
