// The `local` JobBackend: runs jobs in this machine's sandbox through a queue that serves light
// clients first (jobQueue.ts: weighed by CPU and slot time and jobs started; a job that waits without using CPU
// lends its slot, and a heavier client's job gives way to a lighter one's), keeps their data
// in RAM-backed storage and deletes it by the retention rules (after every output was downloaded,
// 5 minutes after a failure, 1 hour at most). Nothing here logs job contents.
import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'
import { type Manifest, type OutputFile, type RunJobResult, type JobUsage, type Sandbox, environmentsReport } from '../../../sandbox/index.ts'
import { BackendError } from '../backendError.ts'
import {
  isFinalState,
  type BackendEnvironments,
  type BackendHealth,
  type BackendStats,
  type JobBackend,
  type JobExecution,
  type JobState,
  type JobStatus,
  type SubmitJobParameters,
} from '../jobBackend.ts'
import { serviceWorkSeconds } from '../serviceWorkSeconds.ts'
import { whenSent } from '../jobTable/whenSent.ts'
import { createJobQueue } from './jobQueue.ts'
import { createSlotTime } from './slotTime.ts'
import { createOutputArchive } from '../jobTable/outputArchive.ts'
import { createJobTable, newTableJob, type TableJob } from '../jobTable/createJobTable.ts'
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

type LocalJob = TableJob & {
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
  abort: AbortController
  /** What the sandbox reported last (cumulative), so each report charges only what is new. */
  used: JobUsage
  /**
   * Why its slot is lent to the next job: held (its client's CPU quota is used up), idle, yielded
   * (a lighter client's job waits), finishing (its code has ended; the service collects its outputs
   * and clears its workspace), or not lent.
   */
  lentFor: 'hold' | 'idle' | 'yield' | 'finishing' | null
  /** When it last took a slot (started, or took it back). */
  slotSince: number
  /**
   * How long it keeps a slot before it gives way to a lighter client's job: `minSliceMs` for a job
   * whose client was light when it came, none for one whose client was heavy then, or that gave
   * way once already.
   */
  sliceMs: number
  /** Up to when its slot time has been charged (time lent is not charged). */
  slotChargedAt: number
  /** When its last usage report came (when it started, before the first). */
  reportedAt: number
  /** Since when its reports have shown it using (next to) no CPU; null while it computes. */
  quietSince: number | null
  /** Makes its usage report now (set while its processes run). */
  reportNow: (() => void) | null
  /** When (performance.now()) a report was last asked of it out of turn. */
  askedAt: number
  /** Cancels the report planned for the end of its slice, if one is. */
  cancelSliceEndReport: (() => void) | null
  run(): Promise<void>
}

/**
 * A running job that uses no CPU (it sleeps, waits on a pipe, trickles output) lends its slot to the
 * next job once its reports have shown it quiet this long, and takes it back with its first busy one:
 * a slot stands for a core, and jobs that only wait must not keep other clients' jobs queued (two
 * `sleep` jobs held both slots of the hostile soak's service for their whole timeout). At most as
 * many jobs lend their slot for being idle as there are slots, which bounds the memory they add.
 */
const quietMsToLend = 3000
/** The share of a core (the job's CPU and the service's work for it) under which a job is quiet: 1 %. */
const quietCoreShare = 0.01
/**
 * A job that arrives while every slot is busy asks the running jobs for their usage reports at once:
 * a job that gives way then does so without the wait for its next report (up to a second; an
 * honest job of the soak waited 0.5 s in line at p99). At most one such report per job this often
 * (real time: the reports cost the service a few cgroup reads each).
 */
const minReportGapMs = 100
/**
 * Time slicing between clients: when every slot is busy and a job waits whose client weighs at
 * least this much less (CPU plus slot seconds in the last minute, plus its started jobs) than a running job's client, the running job
 * (after at least `minSliceMs` with its slot if its client was light when it came; at once if the
 * client was heavier then, or the job gave way before) is held and lends its slot until no such lighter job
 * waits and a slot is free. Ordering the queue alone left light clients' jobs waiting behind hogs that resumed when
 * their charges left the minute (the soak's remaining job p99); a 2 s slice for every job still let a
 * hog's next job, submitted heavy and started once its client's charges had left the minute, keep
 * honest jobs waiting 2-3 s.
 */
const yieldMarginSeconds = 1
const minSliceMs = 2000
/** CPU and slot seconds in the last minute under which a client with nothing running is light (an occasional user). */
const lightUseSeconds = 2
/**
 * A waiting job's place in line counts its client's weight less this much per second it has waited,
 * up to `yieldMarginSeconds` less: a job still goes after jobs of clearly lighter clients, but no
 * longer waits while jobs of clients about as light as its own keep arriving and taking the slots
 * before it (an honest job of the hostile soak waited 14.8 s while 30 later honest jobs, each
 * client a few tenths of a second lighter, went first). At 0.5 it catches up in at most 2 s.
 */
const agingPerSecond = 0.5

export function createLocalBackend(options: LocalBackendOptions, components: LocalBackendComponents): JobBackend {
  const { sandbox, storage, workerKey } = components
  const clock = components.clock ?? systemClock
  const log = components.log ?? (() => undefined)
  // Light clients first: a slot goes to the waiting job whose client used the least CPU and slot
  // time lately (a client whose jobs only hold slots is heavy too: the hostile soak's trickling,
  // sleeping and fork-bombing jobs used next to no CPU and kept honest jobs queued for 30 s), and
  // has the fewest jobs started and not yet done: jobs paused or held for a minute use nothing, and
  // without them in the weight their client came before an honest one whose single job had just
  // held a slot for 0.3 s (the soak's honest jobs waited 8 s behind such clients' second jobs).
  const slotTime = createSlotTime({ clock })
  const used = (clientId: string): number => table.used(clientId) + slotTime.used(clientId)
  const started = new Map<string, number>()
  const weight = (clientId: string): number => used(clientId) + (started.get(clientId) ?? 0)
  /**
   * Jobs that compete for a core share it by their clients' use: 1 / (1 + CPU and slot seconds in
   * the window), so a client that used nothing lately gets the full weight and one that used 9
   * seconds a tenth of it. The queue orders by the same use; this is what it does for the jobs
   * that already run side by side (idle lenders that wake, jobs beyond the slots, a hog beside an
   * honest job before time slicing acts).
   */
  const cpuWeightOf = (clientId: string): number => 1 / (1 + used(clientId))
  /**
   * Clients with no job started that used under `lightUseSeconds` lately are all light alike and go
   * in the order their jobs came: ordered by those tenths of a second, an honest job of the soak
   * waited 7 s while seven new hostile clients (who had used nothing yet) came after it and went
   * first, and 2-3 s while later honest jobs whose clients had used 0.2 s went before one whose
   * client had used 0.6 s (or 1.3 s: its last job had run slowly beside the attack).
   */
  const lineWeight = (clientId: string): number => (!started.has(clientId) && used(clientId) < lightUseSeconds ? 0 : weight(clientId))
  const waitCredit = (job: LocalJob): number => Math.min(yieldMarginSeconds, (agingPerSecond * (clock.now() - job.submittedAt)) / 1000)
  const queue = createJobQueue<LocalJob>({ parallelism: options.parallelism, order: (job) => lineWeight(job.clientId) - waitCredit(job) })
  /** Charges the slot time since the last charge to a job that holds a slot. */
  const chargeSlotTime = (job: LocalJob): void => {
    const now = clock.now()
    // A finishing job lent its slot, but the service's work on its outputs and workspace counts.
    if (job.lentFor === null || job.lentFor === 'finishing') slotTime.charge(job.clientId, (now - job.slotChargedAt) / 1000)
    job.slotChargedAt = now
  }
  // Jobs lending their slot for being idle, and for finishing: each at most as many as the slots.
  const lenders = { idle: 0, finishing: 0 }
  const lendSlot = (job: LocalJob, reason: LocalJob['lentFor']): void => {
    if (reason === job.lentFor) return
    if (job.lentFor === 'idle' || job.lentFor === 'finishing') lenders[job.lentFor]--
    if (reason === 'idle' || reason === 'finishing') lenders[reason]++
    if ((reason === null) !== (job.lentFor === null)) queue.setHeld(job, reason !== null)
    job.lentFor = reason
  }
  let closed = false
  let environmentsDocument: BackendEnvironments | undefined

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

  const table = createJobTable<LocalJob>({
    lifecycle: (job) => job,
    statusOf,
    outputPaths: (job) => job.outputs.map((o) => o.path),
    async release(job) {
      // Its queue place or its run, then its files.
      queue.withdraw(job)
      job.abort.abort()
      job.bundle = null
      if (job.dir) await storage.removeJobDir(job.dir).catch(() => undefined)
    },
    retentionAfterFailureMs: options.retentionAfterFailureMs,
    clock,
    log,
  })

  const finish = (job: LocalJob, state: 'completed' | 'failed'): void => {
    table.finish(job, state)
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
    const finished = table.jobs().filter((j) => j.clientId === clientId && !j.deleted && isFinalState(j.state)).sort((a, b) => a.finishedAt! - b.finishedAt!)
    let total = finished.reduce((sum, j) => sum + retainedBytes(j), 0)
    for (const oldest of finished.slice(0, -1)) {
      if (total <= budget) return
      total -= retainedBytes(oldest)
      table.removeLater(oldest, 'storage')
    }
  }

  /**
   * Charges what is new since the last report (the job's CPU time and the service's work for it),
   * deleted or not; holds the job while its client's quota is used up or while a lighter client's
   * job waits for its slot (time slicing), and lends the slot of a job that waits without computing.
   */
  const meterJob = (job: LocalJob, usage: JobUsage): 'run' | 'hold' | 'pause' => {
    const now = clock.now()
    const cpu = Math.max(0, usage.cpuSeconds - job.used.cpuSeconds)
    const work = serviceWorkSeconds({ relayedBytes: usage.outputBytes - job.used.outputBytes, inflatedBytes: usage.inflatedBytes - job.used.inflatedBytes })
    const since = job.reportedAt
    job.used = usage
    job.reportedAt = now
    table.charge(job.clientId, cpu + work)
    chargeSlotTime(job)
    // Its code has ended: nothing is left to hold or pause.
    if (job.lentFor === 'finishing') return 'run'
    // A job held back to 1 % of a core was quiet because of it, not idle.
    const throttled = job.lentFor === 'hold' || job.lentFor === 'yield'
    // Reports come about once a second, and sooner when a job arrives: quiet is a rate, not a count.
    const quiet = !throttled && cpu + work <= (quietCoreShare * (now - since)) / 1000
    job.quietSince = quiet ? (job.quietSince ?? since) : null
    const hold = !job.deleted && table.exhausted(job.clientId)
    const lighterWaits = queue.nextOrder() + yieldMarginSeconds <= weight(job.clientId)
    const slotsFull = queue.running >= options.parallelism
    // A job that gave way takes a slot again only once one is free: resuming at once put more jobs
    // on the cores than slots (11 running on 2 in the soak) and kept waiting jobs out for a minute.
    const sliceLeft = job.slotSince + job.sliceMs - now
    const yieldSlot = !job.deleted && (job.lentFor === 'yield' ? lighterWaits || slotsFull : lighterWaits && slotsFull && sliceLeft <= 0)
    // It had its slice: when it takes the slot back, it gives way again at the next report.
    if (yieldSlot) job.sliceMs = 0
    // A lighter job waits for the end of its slice: it gives way then, not at the report after.
    else if (lighterWaits && slotsFull && job.lentFor === null && sliceLeft > 0 && !job.cancelSliceEndReport) {
      job.cancelSliceEndReport = clock.after(sliceLeft, () => {
        job.cancelSliceEndReport = null
        job.reportNow?.()
      })
    }
    const idle = !job.deleted && job.quietSince !== null && now - job.quietSince >= quietMsToLend && (job.lentFor === 'idle' || lenders.idle < options.parallelism)
    const reason = hold ? 'hold' : yieldSlot ? 'yield' : idle ? 'idle' : null
    if (reason === null && job.lentFor !== null) job.slotSince = now
    lendSlot(job, reason)
    return hold ? 'hold' : yieldSlot ? 'pause' : 'run'
  }

  /** Running jobs whose usage report can be asked for out of turn. */
  const reporting = new Set<LocalJob>()
  /** A job is waiting and every slot is busy: the running jobs report now, and give way if they should. */
  const askForReports = (): void => {
    if (queue.waiting === 0 || queue.running < options.parallelism) return
    const now = performance.now()
    for (const job of [...reporting]) {
      // Only a job that holds a slot can give one; held, paused and idle ones lent theirs already
      // (asking those too cost the soak's service 2 % of its CPU: quota-held hostile jobs).
      if (job.lentFor !== null || now - job.askedAt < minReportGapMs) continue
      job.askedAt = now
      job.reportNow?.()
    }
  }

  const runJob = async (job: LocalJob): Promise<void> => {
    if (job.deleted || !job.bundle) return
    table.start(job)
    started.set(job.clientId, (started.get(job.clientId) ?? 0) + 1)
    job.slotChargedAt = clock.now()
    let result: RunJobResult
    try {
      // The job's directory holds the copies of its output files and nothing else.
      job.dir = storage.createJobDir()
      result = await sandbox.runJob({
        manifest: job.manifest,
        bundle: job.bundle,
        outputDir: job.dir,
        signal: job.abort.signal,
        // The job's log keeps its output, live and as the result: the bytes are kept once.
        output: job.log,
        onStart: () => {
          job.startedAt = clock.now()
          job.slotSince = job.startedAt
          job.reportedAt = job.startedAt
        },
        onUsage: (usage) => meterJob(job, usage),
        onReporter: (reportNow) => {
          job.reportNow = reportNow
          reporting.add(job)
        },
        cpuWeight: () => cpuWeightOf(job.clientId),
        // Collecting outputs and clearing a workspace of 65,000 files takes seconds of the service's
        // own work (counted as its client's slot time), not a core for job code: the next job starts.
        onExit: () => {
          if (!job.deleted && lenders.finishing < options.parallelism) lendSlot(job, 'finishing')
        },
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
      job.reportNow = null
      job.cancelSliceEndReport?.()
      job.cancelSliceEndReport = null
      reporting.delete(job)
      // Its last stretch (output collection included) held the slot too.
      chargeSlotTime(job)
      // It no longer runs (the queue settles its own slot count when run() returns).
      if (job.lentFor === 'idle' || job.lentFor === 'finishing') lenders[job.lentFor]--
      job.lentFor = null
      const left = (started.get(job.clientId) ?? 1) - 1
      if (left > 0) started.set(job.clientId, left)
      else started.delete(job.clientId)
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

  return {
    mode: 'local',

    async submit({ manifest: input, bundle, clientId, meter: inflation }: SubmitJobParameters) {
      if (closed) throw new BackendError('BACKEND_CLOSED', 'The server is shutting down; submit again in a moment.')
      if (queue.waiting >= options.maxQueuedJobs) throw new BackendError('QUEUE_FULL', 'The job queue is full; retry in a few seconds.')
      const manifest = await validateJob({ manifest: input, bundle, sandbox, meter: inflation })
      const now = clock.now()
      const job: LocalJob = {
        ...newTableJob({ clientId, captureBytes: sandbox.limits.outputCaptureBytes }),
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
        abort: new AbortController(),
        used: { cpuSeconds: 0, outputBytes: 0, inflatedBytes: 0, held: false },
        lentFor: null,
        slotSince: 0,
        sliceMs: lineWeight(clientId) === 0 ? minSliceMs : 0,
        slotChargedAt: 0,
        reportedAt: now,
        quietSince: null,
        reportNow: null,
        askedAt: Number.NEGATIVE_INFINITY,
        cancelSliceEndReport: null,
        run: () => runJob(job),
      }
      table.add(job)
      const position = queue.enqueue(job)
      // After the queue's own turn, which starts it if a slot is free.
      queueMicrotask(askForReports)
      return { jobId: job.id, status: 'queued', position }
    },

    status: (jobId) => statusOf(table.find(jobId)),

    logs: (jobId) => table.find(jobId).log.snapshot(),

    watch: (jobId, listener) => table.watch(table.find(jobId), listener),

    async openOutput(jobId, outputPath) {
      const job = table.find(jobId)
      table.requireFinished(job)
      const file = job.outputs.find((o) => o.path === outputPath)
      if (!file) throw outputMissing(outputPath)
      const stream = whenSent(await openOutputFile(job, file), file.sizeBytes, () => table.markDownloaded(job, [file.path]))
      return { file: { path: file.path, sizeBytes: file.sizeBytes, sha256: file.sha256 }, stream }
    },

    async openOutputArchive(jobId) {
      const job = table.find(jobId)
      table.requireFinished(job)
      const files = job.outputs.slice()
      return createOutputArchive({
        entries: files.map((file) => ({ path: file.path, sizeBytes: file.sizeBytes, open: () => openOutputFile(job, file) })),
        onComplete: () => table.markDownloaded(job, files.map((f) => f.path)),
      })
    },

    async delete(jobId) {
      await table.remove(table.find(jobId), 'deleted')
    },

    meterUsage: (meter) => table.meterUsage(meter),

    stats(): BackendStats {
      return {
        queueLength: queue.waiting,
        runningJobs: queue.running,
        parallelism: queue.parallelism,
        ...table.stats(),
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
      await table.close()
    },
  }
}

function outputMissing(outputPath: string): BackendError {
  return new BackendError('OUTPUT_NOT_FOUND', 'No such output file in this job. List the files with GET /outputs/:id.', { details: outputPath.slice(0, 256) })
}
