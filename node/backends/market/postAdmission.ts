// How many jobs the gateway puts on chain at once: no more than the workers it hears can run.
// Posted beyond that, jobs wait on chain for a run, most miss their commit window, and a job that
// one or two workers ran before the window closed ends inconclusive: every run of it wasted, the
// requester's job failed. Measured: 12 busy workers on 2-second blocks verified 0.33 jobs/s of 1.36
// posted (docs/BENCHMARKS.md). So a job waits at the gateway (`queued`, its place in line shown)
// until the runs the gateway's posted jobs still need, plus its own, fit in the places the workers
// announce (their heartbeats' `maxJobs`).
// The count is this gateway's own: another gateway's jobs on the same workers are not seen, and
// heartbeats say what a worker can run, not what it runs for others. A job that fits nowhere (more
// replicas than all the places heard of) or a gateway that hears no worker yet posts as before,
// once nothing of its own is waiting for runs: the queue never stops for good.

export type PostedJobRuns = {
  replicas: number
  /** Commits on chain: a committed replica has run. */
  committed: number
}

/** The runs posted jobs still need: replicas not committed yet. */
export function runsWanted(jobs: Iterable<PostedJobRuns>): number {
  let wanted = 0
  for (const job of jobs) wanted += Math.max(0, job.replicas - job.committed)
  return wanted
}

/** Whether a job of `replicas` may be posted now, beside posted jobs that still want `wanted` runs, with `places` announced by the workers heard. */
export function mayPost({ places, wanted, replicas }: { places: number; wanted: number; replicas: number }): boolean {
  return places === 0 || wanted === 0 || wanted + replicas <= places
}
