// The `local` JobBackend: runs jobs in this machine's sandbox through a FIFO queue, keeps their
// data in RAM-backed storage and deletes it by the retention rules (after every output was
// downloaded, 5 minutes after a failure, 1 hour at most). Nothing here logs job contents.
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { type Manifest, type OutputFile, type RunJobResult, type JobUsage, type Sandbox, environmentsReport } from '../../../sandbox/index.ts'
import { BackendError } from '../backendError.ts'
import type {
  BackendEnvironments,
  BackendHealth,
  BackendStats,
  JobBackend,
  JobEvent,
  JobExecution,
  JobState,
  JobStatus,
  SubmitJobParameters,
  UsageMeter,
} from '../jobBackend.ts'
import { serviceWorkSeconds } from '../serviceWorkSeconds.ts'
import { watchJobLog } from '../watchJobLog.ts'
import { whenSent } from '../whenSent.ts'
import { createJobQueue } from './jobQueue.ts'
import { JobLog } from './jobLog.ts'
import { createOutputArchive } from './outputArchive.ts'
import { environmentDigest, sealResult, type WorkerKey } from '../../../verifier/index.ts'
import type { Storage } from '../../storage/openStorage.ts'
import { systemClock, type Clock } from '../../clock/systemClock.ts'
import { validateJob } from './validateJob.ts'
import { describeRetention } from '../describeRetention.ts'
import { errorCodeOf, SandrunError } from '../../../errors/index.ts'

export type LocalBackendOptions = {
  /** Jobs run at once. */
  parallelism: number
  /** Jobs waiting beyond this are refused with QUEUE_FULL. */
  maxQueuedJobs: number
  /** Longest any job's data is kept, from submission (ms). */
  retentionMaxMs: number
  /** How long a failed job's data is kept after it finished (ms). */
  retentionAfterFailureMs: number
  /**
   * Logs and outputs one client's finished jobs may keep in RAM at once; beyond it, that client's
   * oldest finished jobs are deleted early. Default: no limit.
   */
  maxRetainedBytesPerClient?: number | undefined
}

export type LocalBackendComponents = {
  sandbox: Sandbox
  storage: Storage
  workerKey: WorkerKey
  /** What retention counts on (default the system clock). */
  clock?: Clock | undefined
  log?: ((message: string, context: Record<string, unknown>) => void) | undefined
}

type LocalJob = {
  id: string
  clientId: string
  state: JobState
  manifest: Manifest
  bundle: Uint8Array | null
  dir: string | null
  submittedAt: number
  startedAt: number | null
  finishedAt: number | null
  expiresAt: number
  execution: JobExecution | null
  resultRoot: string | null
  outputs: OutputFile[]
  worker: { workerId: string; signature: string } | null
  error: string | null
  log: JobLog
  watchers: Set<(event: JobEvent) => void>
  abort: AbortController
  downloaded: Set<string>
  /** Cancels the pending deletion. */
  timer: (() => void) | null
  deleted: boolean
  /** What the sandbox reported last (cumulative), so each report charges only what is new. */
  used: JobUsage
  /** Held because its client's CPU quota is used up. */
  held: boolean
  run(): Promise<void>
}

/** 128 random bits, hex: unguessable, so a job id works as the only capability to its data. */
function newJobId(): string {
  return `job-${randomBytes(16).toString('hex')}`
}

export function createLocalBackend(options: LocalBackendOptions, components: LocalBackendComponents): JobBackend {
  const { sandbox, storage, workerKey } = components
  const clock = components.clock ?? systemClock
  const log = components.log ?? (() => undefined)
  // Nobody awaits a timed or download-triggered deletion: a failure is logged, never left unhandled.
  const removalFailed = (error: unknown): void => log('job removal failed', { code: errorCodeOf(error) ?? (error instanceof Error ? error.name : 'UNKNOWN') })
  const jobs = new Map<string, LocalJob>()
  const queue = createJobQueue<LocalJob>({ parallelism: options.parallelism })
  let meter: UsageMeter | null = null
  const activeByClient = new Map<string, number>()
  const counters = { total: 0, completed: 0, failed: 0 }
  let closed = false
  let environmentsDocument: BackendEnvironments | undefined

  const find = (jobId: string): LocalJob => {
    const job = jobs.get(jobId)
    if (!job || job.deleted) throw new BackendError('JOB_NOT_FOUND', 'Job not found. It may have expired or its outputs were all downloaded (jobs are deleted then).', { details: jobId.slice(0, 64) })
    return job
  }

  const statusOf = (job: LocalJob): JobStatus => ({
    jobId: job.id,
    status: job.state,
    position: job.state === 'queued' ? queue.position(job) : 0,
    submittedAt: job.submittedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    expiresAt: job.expiresAt,
    execution: job.execution,
    resultRoot: job.resultRoot,
    outputFiles: job.outputs.map((o) => ({ path: o.path, sizeBytes: o.sizeBytes, sha256: o.sha256 })),
    worker: job.worker,
    error: job.error,
  })

  const emit = (job: LocalJob, event: JobEvent): void => {
    for (const watcher of job.watchers) watcher(event)
  }

  const changeActive = (clientId: string, delta: number): void => {
    const next = (activeByClient.get(clientId) ?? 0) + delta
    if (next > 0) activeByClient.set(clientId, next)
    else activeByClient.delete(clientId)
  }

  const scheduleDeletion = (job: LocalJob, at: number): void => {
    job.timer?.()
    job.expiresAt = at
    job.timer = clock.after(at - clock.now(), () => removeJob(job, 'expired').catch(removalFailed))
  }

  const removeJob = async (job: LocalJob, why: 'expired' | 'downloaded' | 'deleted' | 'closed' | 'storage'): Promise<void> => {
    if (job.deleted) return
    job.deleted = true
    job.timer?.()
    if (job.state === 'queued' || job.state === 'running') {
      // Cancelled before it finished: free its queue slot or kill it, give its client's share
      // back, and give viewers and waiters a final answer instead of leaving them waiting.
      queue.withdraw(job)
      changeActive(job.clientId, -1)
      emit(job, { type: 'status', status: { ...statusOf(job), status: 'failed', error: 'The job was cancelled: its data was deleted.' } })
    }
    job.abort.abort()
    job.bundle = null
    job.watchers.clear()
    job.log.clear()
    jobs.delete(job.id)
    if (job.dir) await storage.removeJobDir(job.dir).catch(() => undefined)
    log('job deleted', { why })
  }

  const finish = (job: LocalJob, state: 'completed' | 'failed'): void => {
    job.state = state
    job.finishedAt = clock.now()
    changeActive(job.clientId, -1)
    counters[state]++
    const expiry = state === 'failed' ? Math.min(job.expiresAt, job.finishedAt + options.retentionAfterFailureMs) : job.expiresAt
    scheduleDeletion(job, expiry)
    emit(job, { type: 'status', status: statusOf(job) })
    job.watchers.clear()
    keepWithinRetainedBudget(job.clientId)
  }

  /** What a finished job keeps in RAM: its logs and its outputs (apparent sizes). */
  const retainedBytes = (job: LocalJob): number => {
    const logs = job.log.snapshot()
    return logs.stdout.length + logs.stderr.length + job.outputs.reduce((sum, o) => sum + o.sizeBytes, 0)
  }

  /** One client's finished jobs keep at most its budget: the oldest go first (never the newest). */
  const keepWithinRetainedBudget = (clientId: string): void => {
    const budget = options.maxRetainedBytesPerClient
    if (budget === undefined) return
    const finished = [...jobs.values()].filter((j) => j.clientId === clientId && !j.deleted && (j.state === 'completed' || j.state === 'failed')).sort((a, b) => a.finishedAt! - b.finishedAt!)
    let total = finished.reduce((sum, j) => sum + retainedBytes(j), 0)
    for (const oldest of finished.slice(0, -1)) {
      if (total <= budget) return
      total -= retainedBytes(oldest)
      void removeJob(oldest, 'storage').catch(removalFailed)
    }
  }

  /**
   * Charges what is new since the last report (the job's CPU time and the service's work for it),
   * deleted or not, and holds the job while its client's quota is used up.
   */
  const meterJob = (job: LocalJob, usage: JobUsage): 'run' | 'hold' => {
    const cpu = Math.max(0, usage.cpuSeconds - job.used.cpuSeconds)
    const work = serviceWorkSeconds({ relayedBytes: usage.outputBytes - job.used.outputBytes, inflatedBytes: usage.inflatedBytes - job.used.inflatedBytes })
    job.used = usage
    meter?.charge(job.clientId, cpu + work)
    const hold = !job.deleted && meter?.exhausted(job.clientId) === true
    if (hold !== job.held) {
      job.held = hold
      queue.setHeld(job, hold)
    }
    return hold ? 'hold' : 'run'
  }

  const runJob = async (job: LocalJob): Promise<void> => {
    if (job.deleted || !job.bundle) return
    job.state = 'running'
    job.startedAt = clock.now()
    emit(job, { type: 'status', status: statusOf(job) })
    let result: RunJobResult
    try {
      // The job's directory holds the copies of its output files and nothing else.
      job.dir = storage.createJobDir()
      result = await sandbox.runJob({
        manifest: job.manifest,
        bundle: job.bundle,
        outputDir: job.dir,
        signal: job.abort.signal,
        onOutput: (stream, chunk) => job.log.append(stream, chunk),
        onStart: () => {
          job.startedAt = clock.now()
        },
        onUsage: (usage) => meterJob(job, usage),
      })
    } catch (error) {
      if (job.deleted) return
      const userFacing = error instanceof SandrunError && error.isUserError
      job.error = userFacing ? error.shortMessage : 'The sandbox failed to run the job; the operator has been told.'
      log('job run failed', { code: errorCodeOf(error) ?? 'UNKNOWN', userFacing })
      finish(job, 'failed')
      return
    } finally {
      job.bundle = null
    }
    if (job.deleted) return
    job.log.settle(result.stdout, result.stderr, result.stdoutTruncated, result.stderrTruncated)
    job.outputs = result.outputs
    job.execution = {
      cpuSeconds: result.cpuSeconds,
      memoryPeakBytes: result.memoryPeakBytes,
      exitCode: result.exitCode,
      environment: job.manifest.environment,
      wallTimeMs: result.wallTimeMs,
      termination: result.termination,
      stdoutTruncated: result.stdoutTruncated,
      stderrTruncated: result.stderrTruncated,
      reportedBy: 'gateway',
    }
    const commitment = sealResult(result, workerKey)
    job.resultRoot = commitment.resultRoot
    job.worker = commitment.worker
    finish(job, result.termination === 'exited' && result.exitCode === 0 ? 'completed' : 'failed')
  }

  const openOutputFile = async (job: LocalJob, file: OutputFile): Promise<Readable> => {
    const outputRoot = job.dir ? job.dir + path.sep : null
    const resolved = path.resolve(file.hostPath)
    // Serve only regular files inside the job's output dir, never through a link.
    if (!outputRoot || !resolved.startsWith(outputRoot)) throw outputMissing(file.path)
    const handle = await open(resolved, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => {
      throw outputMissing(file.path)
    })
    const info = await handle.stat()
    if (!info.isFile()) {
      await handle.close()
      throw outputMissing(file.path)
    }
    // The stream owns the handle and closes it once; closing the raw fd and then the handle again
    // could close an unrelated file that reused the descriptor number in between.
    return handle.createReadStream()
  }

  const markDownloaded = (job: LocalJob, paths: string[]): void => {
    for (const p of paths) job.downloaded.add(p)
    if (job.outputs.length > 0 && job.outputs.every((o) => job.downloaded.has(o.path))) void removeJob(job, 'downloaded').catch(removalFailed)
  }

  const requireFinished = (job: LocalJob): void => {
    if (job.state !== 'completed' && job.state !== 'failed') throw new BackendError('JOB_NOT_FINISHED', 'The job has not finished yet; outputs exist once its status is completed or failed.', { details: job.state })
  }

  return {
    mode: 'local',

    async submit({ manifest: input, bundle, clientId, meter: inflation }: SubmitJobParameters) {
      if (closed) throw new BackendError('BACKEND_CLOSED', 'The server is shutting down; submit again in a moment.')
      if (queue.waiting >= options.maxQueuedJobs) throw new BackendError('QUEUE_FULL', 'The job queue is full; retry in a few seconds.')
      const manifest = await validateJob({ manifest: input, bundle, sandbox, meter: inflation })
      const now = clock.now()
      const job: LocalJob = {
        id: newJobId(),
        clientId,
        state: 'queued',
        manifest,
        bundle,
        dir: null,
        submittedAt: now,
        startedAt: null,
        finishedAt: null,
        expiresAt: now + options.retentionMaxMs,
        execution: null,
        resultRoot: null,
        outputs: [],
        worker: null,
        error: null,
        log: new JobLog({ captureBytes: sandbox.limits.outputCaptureBytes }),
        watchers: new Set(),
        abort: new AbortController(),
        downloaded: new Set(),
        timer: null,
        deleted: false,
        used: { cpuSeconds: 0, outputBytes: 0, inflatedBytes: 0, held: false },
        held: false,
        run: () => runJob(job),
      }
      jobs.set(job.id, job)
      scheduleDeletion(job, job.expiresAt)
      changeActive(clientId, 1)
      counters.total++
      const position = queue.enqueue(job)
      return { jobId: job.id, status: 'queued', position }
    },

    status(jobId) {
      return statusOf(find(jobId))
    },

    logs(jobId) {
      return find(jobId).log.snapshot()
    },

    watch(jobId, listener) {
      const job = find(jobId)
      return watchJobLog({ log: job.log, watchers: job.watchers, status: statusOf(job), listener })
    },

    async openOutput(jobId, outputPath) {
      const job = find(jobId)
      requireFinished(job)
      const file = job.outputs.find((o) => o.path === outputPath)
      if (!file) throw outputMissing(outputPath)
      const stream = whenSent(await openOutputFile(job, file), file.sizeBytes, () => markDownloaded(job, [file.path]))
      return { file: { path: file.path, sizeBytes: file.sizeBytes, sha256: file.sha256 }, stream }
    },

    async openOutputArchive(jobId) {
      const job = find(jobId)
      requireFinished(job)
      const files = job.outputs.slice()
      return createOutputArchive({
        entries: files.map((file) => ({ path: file.path, sizeBytes: file.sizeBytes, open: () => openOutputFile(job, file) })),
        onComplete: () => markDownloaded(job, files.map((f) => f.path)),
      })
    },

    async delete(jobId) {
      await removeJob(find(jobId), 'deleted')
    },

    meterUsage(usageMeter) {
      meter = usageMeter
    },

    stats(): BackendStats {
      return {
        queueLength: queue.waiting,
        runningJobs: queue.running,
        parallelism: queue.parallelism,
        jobsTotal: counters.total,
        completedTotal: counters.completed,
        failedTotal: counters.failed,
        retainedJobs: jobs.size,
        activeJobsOf: (clientId) => activeByClient.get(clientId) ?? 0,
      }
    },

    environments(): BackendEnvironments {
      // Detection happened once at start-up, so the report (digests included) never changes.
      environmentsDocument ??= environmentsReport({
        detections: sandbox.capabilities.environments,
        interpreters: sandbox.capabilities.interpreters,
        digest: environmentDigest,
      })
      return environmentsDocument
    },

    privacy() {
      const rule = `${describeRetention(options)}, and when the server restarts`
      if (!storage.onTmpfs) {
        return `Job data is NOT kept in RAM only here: the operator put the data directory on a disk (--allow-disk-storage), so output files rest on it in clear until deleted. Job data is ${rule}.`
      }
      return `Job data lives in RAM (tmpfs) on this machine: bundle and logs in the server's memory, output files on a tmpfs data directory, never on a disk. It is ${rule}.`
    },

    health(): BackendHealth {
      return {
        healthy: !closed,
        workerId: workerKey.workerId,
        mode: 'local',
        isolation: sandbox.capabilities.isolation,
        isolationNote: sandbox.capabilities.isolationNote,
        // Device files are host paths: they stay out of the answer.
        gpus: sandbox.capabilities.gpus.gpus.map(({ deviceFile: _deviceFile, ...gpu }) => gpu),
        gpuNote: sandbox.capabilities.gpus.note,
        packageIndexes: sandbox.capabilities.packageIndexes,
      }
    },

    async close() {
      closed = true
      await Promise.all([...jobs.values()].map((job) => removeJob(job, 'closed')))
    },
  }
}

function outputMissing(outputPath: string): BackendError {
  return new BackendError('OUTPUT_NOT_FOUND', 'No such output file in this job. List the files with GET /outputs/:id.', { details: outputPath.slice(0, 256) })
}
