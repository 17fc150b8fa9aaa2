// FIFO job queue with a fixed number of slots. Jobs wait in order, run when a slot frees, and can
// be withdrawn while waiting; a job's place in line is what /submit and /status report. A running
// job that is held (its client's CPU quota is used up) gives its slot to the next one; when it goes
// on, it takes a slot again at once, even if that means one job more than the slots for a while.

export type QueuedTask = {
  run(): Promise<void>
}

export type JobQueueOptions = {
  /** How many tasks run at once. */
  parallelism: number
}

export type JobQueue<T extends QueuedTask> = {
  enqueue(task: T): number
  /** 1-based place among waiting tasks; 0 when running or not queued. */
  position(task: T): number
  /** Removes a waiting task; returns false when it is not waiting (running or unknown). */
  withdraw(task: T): boolean
  /** A running task is held (its slot goes to the next task) or goes on (it takes a slot again). */
  setHeld(task: T, held: boolean): void
  readonly waiting: number
  readonly running: number
  readonly parallelism: number
}

export function createJobQueue<T extends QueuedTask>({ parallelism }: JobQueueOptions): JobQueue<T> {
  if (!Number.isInteger(parallelism) || parallelism < 1) throw new RangeError(`parallelism must be an integer >= 1, got ${parallelism}`)
  const waiting: T[] = []
  const active = new Set<T>()
  const held = new Set<T>()
  let running = 0

  const pump = (): void => {
    while (running < parallelism && waiting.length > 0) {
      const task = waiting.shift() as T
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
      const position = waiting.length
      // Starting on the next tick lets the caller answer with the queue position first.
      queueMicrotask(pump)
      return position
    },
    position(task) {
      return waiting.indexOf(task) + 1
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
    get waiting() {
      return waiting.length
    },
    get running() {
      return running
    },
    parallelism,
  }
}
