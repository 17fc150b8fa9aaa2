// The job table every backend keeps: jobs by id, their retention (deleted at expiry, sooner after a
// failure, at once when every output was downloaded), status watchers, the usage meters, and the
// counts behind /metrics and the per-client limits. A backend keeps only what runs a job (the
// sandbox queue, pool dispatch with retry, the chain follower) and tells the table when a job
// starts, finishes or goes; what it must free itself then is its `release`.
import { randomBytes } from 'node:crypto'
import type { Clock } from '../../clock/systemClock.ts'
import { errorCodeOf } from '../../../errors/index.ts'
import { gatewayJobId, type GatewayJobId } from '../../../verifier/index.ts'
import { BackendError } from '../backendError.ts'
import { isFinalState, type BackendStats, type JobEvent, type JobState, type JobStatus, type UsageMeter, type WatchJobReturnType } from '../jobBackend.ts'
import { JobLog } from './jobLog.ts'
import { watchJobLog } from './watchJobLog.ts'

/** What the table keeps of every job; a backend's own job type adds what runs it. */
export type TableJob = {
  readonly id: GatewayJobId
  readonly clientId: string
  /** Live output, then the final one: what /logs and the viewers read. */
  readonly log: JobLog
  readonly watchers: Set<(event: JobEvent) => void>
  readonly downloaded: Set<string>
  /** Cancels the pending deletion. */
  timer: (() => void) | null
  deleted: boolean
}

/** The fields of a job the table moves through its life: the job itself, or the record it stores. */
export type JobLifecycle = {
  state: JobState
  startedAt: number | null
  finishedAt: number | null
  expiresAt: number
  error: string | null
}

export type RemovalReason = 'expired' | 'downloaded' | 'deleted' | 'closed' | 'storage' | 'not posted'

export type JobTableParameters<J extends TableJob> = {
  lifecycle: (job: J) => JobLifecycle
  statusOf: (job: J) => JobStatus
  /** The job's output file paths (a job is deleted once each was downloaded). */
  outputPaths: (job: J) => string[]
  /** What the backend frees of a job beyond the table's own: its queue place, run, files, chain follow. */
  release: (job: J, why: RemovalReason) => Promise<void> | void
  /** How long a failed job's data is kept after it finished (ms). */
  retentionAfterFailureMs: number
  clock: Clock
  log: (message: string, context: Record<string, unknown>) => void
}

export type JobTable<J extends TableJob> = ReturnType<typeof createJobTable<J>>

/** 128 random bits, hex: unguessable, so a job id works as the only capability to its data. */
export function newJobId(): GatewayJobId {
  return gatewayJobId(`job-${randomBytes(16).toString('hex')}`)
}

/** The table's part of a new job (under a new id unless given one). */
export function newTableJob({ id = newJobId(), clientId, captureBytes }: { id?: GatewayJobId; clientId: string; captureBytes: number }): TableJob {
  return { id, clientId, log: new JobLog({ captureBytes }), watchers: new Set(), downloaded: new Set(), timer: null, deleted: false }
}

export function createJobTable<J extends TableJob>({ lifecycle, statusOf, outputPaths, release, retentionAfterFailureMs, clock, log }: JobTableParameters<J>) {
  const jobs = new Map<GatewayJobId, J>()
  const activeByClient = new Map<string, number>()
  const counters = { total: 0, completed: 0, failed: 0 }
  const meters: UsageMeter[] = []
  // Nobody awaits a timed or download-triggered deletion: a failure is logged, never left unhandled.
  const removalFailed = (error: unknown): void => log('job removal failed', { code: errorCodeOf(error) ?? (error instanceof Error ? error.name : 'UNKNOWN') })

  const changeActive = (clientId: string, delta: number): void => {
    const next = (activeByClient.get(clientId) ?? 0) + delta
    if (next > 0) activeByClient.set(clientId, next)
    else activeByClient.delete(clientId)
  }

  const scheduleDeletion = (job: J): void => {
    job.timer?.()
    job.timer = clock.after(lifecycle(job).expiresAt - clock.now(), () => remove(job, 'expired').catch(removalFailed))
  }

  function emit(job: J, status: JobStatus = statusOf(job)): void {
    for (const watcher of job.watchers) watcher({ type: 'status', status })
  }

  async function remove(job: J, why: RemovalReason): Promise<void> {
    if (job.deleted) return
    job.deleted = true
    job.timer?.()
    if (!isFinalState(lifecycle(job).state)) {
      // Gone before it finished: its client's share comes back, and viewers and waiters get a final
      // answer instead of being left waiting.
      changeActive(job.clientId, -1)
      emit(job, { ...statusOf(job), status: 'failed', position: 0, error: 'The job was cancelled: its data was deleted.' })
    }
    job.watchers.clear()
    job.log.clear()
    jobs.delete(job.id)
    await release(job, why)
    log('job deleted', { why })
  }

  return {
    add(job: J): void {
      jobs.set(job.id, job)
      counters.total++
      changeActive(job.clientId, 1)
      scheduleDeletion(job)
    },

    /** A job the backend could not accept after all (its post failed): removed, and not counted. */
    async discard(job: J): Promise<void> {
      await remove(job, 'not posted')
      counters.total--
    },

    find(jobId: GatewayJobId): J {
      const job = jobs.get(jobId)
      if (!job || job.deleted) throw new BackendError('JOB_NOT_FOUND', 'Job not found. It may have expired or its outputs were all downloaded (jobs are deleted then).', { details: jobId.slice(0, 64) })
      return job
    },

    /** A live job by id, or undefined (no error: for events that may arrive after a deletion). */
    get(jobId: GatewayJobId): J | undefined {
      const job = jobs.get(jobId)
      return job && !job.deleted ? job : undefined
    },

    jobs: (): J[] => [...jobs.values()],

    requireFinished(job: J): void {
      const { state } = lifecycle(job)
      if (!isFinalState(state)) throw new BackendError('JOB_NOT_FINISHED', 'The job has not finished yet; outputs exist once its status is completed or failed.', { details: state })
    },

    emit,

    /** The job started running (again, after a retry). */
    start(job: J): void {
      const l = lifecycle(job)
      l.state = 'running'
      l.startedAt ??= clock.now()
      emit(job)
    },

    /** The job reached its final state: kept for its retention from now on, and its watchers told. */
    finish(job: J, state: 'completed' | 'failed', error?: string | null): void {
      const l = lifecycle(job)
      l.state = state
      if (error !== undefined) l.error = error
      l.finishedAt = clock.now()
      if (state === 'failed') l.expiresAt = Math.min(l.expiresAt, l.finishedAt + retentionAfterFailureMs)
      counters[state]++
      changeActive(job.clientId, -1)
      scheduleDeletion(job)
      emit(job)
      job.watchers.clear()
    },

    remove,

    watch: (job: J, listener: (event: JobEvent) => void): WatchJobReturnType => watchJobLog({ log: job.log, watchers: job.watchers, status: statusOf(job), listener }),

    /** Some outputs went out in full; once every one has, the job's data goes. */
    markDownloaded(job: J, paths: string[]): void {
      for (const p of paths) job.downloaded.add(p)
      const outputs = outputPaths(job)
      if (outputs.length > 0 && outputs.every((p) => job.downloaded.has(p))) void remove(job, 'downloaded').catch(removalFailed)
    },

    /** Deletes a job in the background (a storage budget, say); a failure is logged. */
    removeLater(job: J, why: RemovalReason): void {
      void remove(job, why).catch(removalFailed)
    },

    meterUsage(meter: UsageMeter): void {
      meters.push(meter)
    },

    charge(clientId: string, cpuSeconds: number): void {
      for (const meter of meters) meter.charge(clientId, cpuSeconds)
    },

    exhausted: (clientId: string): boolean => meters.some((meter) => meter.exhausted(clientId)),
    used: (clientId: string): number => meters.reduce((most, meter) => Math.max(most, meter.used(clientId)), 0),

    /** The counts of BackendStats that do not depend on how jobs run. */
    stats(): Pick<BackendStats, 'jobsTotal' | 'completedTotal' | 'failedTotal' | 'retainedJobs' | 'activeJobsOf'> {
      return {
        jobsTotal: counters.total,
        completedTotal: counters.completed,
        failedTotal: counters.failed,
        retainedJobs: jobs.size,
        activeJobsOf: (clientId) => activeByClient.get(clientId) ?? 0,
      }
    },

    async close(): Promise<void> {
      await Promise.all([...jobs.values()].map((job) => remove(job, 'closed')))
    },
  }
}
