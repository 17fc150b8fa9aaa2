// The `pool` JobBackend: jobs go over the exec protocol to the least loaded healthy worker of the
// allowlist; a job whose worker dies (or serves a result that fails the checks) is run again on
// another. Results are kept in RAM only after the files, the root and the worker's signature check out.
import { Readable } from 'node:stream'
import type { Manifest } from '../../../sandbox/index.ts'
import type { GatewayJobId, WorkerKey } from '../../../verifier/index.ts'
import type { ExecOutcome, ExecService } from '../../p2p/execService.ts'
import { BackendError } from '../backendError.ts'
import type { BackendEnvironments, BackendHealth, BackendStats, JobBackend, JobExecution, JobState, JobStatus, SubmitJobParameters } from '../jobBackend.ts'
import { createJobTable, newTableJob, type TableJob } from '../jobTable/createJobTable.ts'
import { createOutputArchive } from '../jobTable/outputArchive.ts'
import { validateMarketJob } from '../market/validateMarketJob.ts'
import { checkPoolResult } from './checkPoolResult.ts'
import type { PoolMember, WorkerRegistry } from './workerRegistry.ts'
import { whenSent } from '../jobTable/whenSent.ts'
import { describeRetention } from '../describeRetention.ts'
import { systemClock, type Clock } from '../../clock/systemClock.ts'
import { errorMessageOf, shortMessageOf } from '../../../errors/index.ts'
import { poolStatusRoute } from './poolStatusRoute.ts'

export type PoolBackendOptions = {
  /** Workers one job is tried on before it fails. */
  maxAttempts: number
  /** A job no worker could take for this long fails (all workers down). */
  queueTimeoutMs: number
  maxQueuedJobs: number
  retentionMaxMs: number
  retentionAfterFailureMs: number
  /** Added to a job's own timeout for set-up and transfers before the gateway gives up on a worker. */
  dispatchMarginMs: number
}

export const defaultPoolBackendOptions: PoolBackendOptions = {
  // The first worker and two others: a job that kills three workers is not a worker problem.
  maxAttempts: 3,
  // Long enough to ride out a worker restart, short enough that a user is not left waiting on nothing.
  queueTimeoutMs: 10 * 60_000,
  maxQueuedJobs: 1000,
  // Sandrun's retention: 1 hour at most, 5 minutes after a failure.
  retentionMaxMs: 60 * 60_000,
  retentionAfterFailureMs: 5 * 60_000,
  dispatchMarginMs: 120_000,
}

export type PoolBackendComponents = {
  registry: WorkerRegistry
  exec: Pick<ExecService, 'dispatch'>
  environments: BackendEnvironments
  /** The gateway's own key (its /health worker_id). */
  workerKey: WorkerKey
  /** What retention counts on (default the system clock). */
  clock?: Clock | undefined
  log?: ((message: string, context: Record<string, unknown>) => void) | undefined
}

type PoolJob = TableJob & {
  state: JobState
  manifest: Manifest
  bundle: Uint8Array | null
  submittedAt: number
  queuedAt: number
  startedAt: number | null
  finishedAt: number | null
  expiresAt: number
  execution: JobExecution | null
  root: string | null
  entries: Array<{ name: string; sha256: string; size: number }>
  contents: Map<string, Uint8Array>
  worker: { workerId: string; signature: string } | null
  error: string | null
  attempts: number
  failedOn: Set<string>
  assigned: PoolMember | null
  abort: AbortController | null
}

export type PoolBackend = JobBackend & {
  /** Jobs by worker, for GET /pool (job ids stay out of it: they are capabilities). */
  jobsOn(member: PoolMember): Array<{ jobId: GatewayJobId; startedAt: number | null }>
  queueLength(): number
}

const captureBytes = 8 * 1024 * 1024

export function createPoolBackend(options: PoolBackendOptions, components: PoolBackendComponents): PoolBackend {
  const { registry, exec, environments, workerKey } = components
  const clock = components.clock ?? systemClock
  const log = components.log ?? (() => undefined)
  const queue: PoolJob[] = []
  let closed = false

  const statusOf = (job: PoolJob): JobStatus => ({
    jobId: job.id,
    status: job.state,
    position: job.state === 'queued' ? queue.indexOf(job) + 1 : 0,
    submittedAt: job.submittedAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    expiresAt: job.expiresAt,
    execution: job.execution,
    resultRoot: job.root,
    outputFiles: job.entries.filter((e) => e.name.startsWith('outputs/')).map((e) => ({ path: e.name.slice('outputs/'.length), sizeBytes: e.size, sha256: e.sha256.slice(2) })),
    worker: job.worker,
    error: job.error,
  })

  const outputPaths = (job: PoolJob): string[] => job.entries.filter((e) => e.name.startsWith('outputs/')).map((e) => e.name.slice('outputs/'.length))

  const table = createJobTable<PoolJob>({
    lifecycle: (job) => job,
    statusOf,
    outputPaths,
    release(job) {
      const index = queue.indexOf(job)
      if (index >= 0) queue.splice(index, 1)
      job.abort?.abort()
      job.bundle = null
      job.contents.clear()
    },
    retentionAfterFailureMs: options.retentionAfterFailureMs,
    clock,
    log,
  })

  const finish = (job: PoolJob, state: 'completed' | 'failed', error: string | null): void => {
    job.bundle = null
    table.finish(job, state, error)
    // Charged once a job has finished: the CPU time comes with its result.
    table.charge(job.clientId, job.execution?.cpuSeconds ?? 0)
    pump()
  }

  const requeue = (job: PoolJob, member: PoolMember, reason: string): void => {
    job.failedOn.add(member.workerId)
    log('job retried on another worker', { workerId: member.workerId, attempt: job.attempts, reason: reason.slice(0, 200) })
    if (job.attempts >= options.maxAttempts) {
      finish(job, 'failed', `The job was tried on ${job.attempts} workers and none returned a result; the pool operator can see why in the gateway log.`)
      return
    }
    job.state = 'queued'
    job.queuedAt = Date.now()
    queue.unshift(job)
    table.emit(job)
    pump()
  }

  const settle = (job: PoolJob, member: PoolMember, outcome: ExecOutcome): void => {
    if (outcome.type === 'refused') {
      if (outcome.code === 'BUSY') {
        // Its --max-jobs is below workers.json's max_concurrent_jobs: back off from it briefly.
        member.pausedUntil = Date.now() + 1000
        job.attempts--
        job.state = 'queued'
        queue.unshift(job)
        table.emit(job)
        pump()
        return
      }
      member.lastError = `refused a job: ${outcome.code}`
      requeue(job, member, `refused: ${outcome.code}`)
      return
    }
    if (outcome.type === 'failed') {
      if (outcome.userError) {
        member.totals.completed++
        finish(job, 'failed', outcome.message || 'The job could not be run.')
      } else {
        requeue(job, member, `host failure: ${outcome.code}`)
      }
      return
    }
    const { result } = outcome
    let root: string
    try {
      root = checkPoolResult({ result, workerId: member.workerId }).root
    } catch (error) {
      member.totals.failed++
      member.lastError = `served a result that failed the checks: ${errorMessageOf(error).slice(0, 150)}`
      log('worker result rejected', { workerId: member.workerId, reason: errorMessageOf(error).slice(0, 200) })
      requeue(job, member, 'result rejected')
      return
    }
    member.totals.completed++
    job.root = root
    job.entries = result.entries
    job.contents = new Map(result.files.map((f) => [f.name, f.content]))
    job.worker = result.worker
    const text = (name: string): Buffer => Buffer.from(job.contents.get(name) ?? new Uint8Array())
    job.log.settle(text('stdout'), text('stderr'), result.execution.stdoutTruncated, result.execution.stderrTruncated)
    const e = result.execution
    job.execution = {
      cpuSeconds: e.cpuSeconds,
      memoryPeakBytes: e.memoryPeakBytes,
      exitCode: e.exitCode,
      environment: job.manifest.environment,
      wallTimeMs: e.wallTimeMs,
      termination: e.termination,
      stdoutTruncated: e.stdoutTruncated,
      stderrTruncated: e.stderrTruncated,
      reportedBy: 'worker',
    }
    finish(job, e.termination === 'exited' && e.exitCode === 0 ? 'completed' : 'failed', null)
  }

  const attempt = async (job: PoolJob, member: PoolMember): Promise<void> => {
    member.running.add(job.id)
    member.lastDispatchAt = Date.now()
    member.totals.dispatched++
    job.attempts++
    job.assigned = member
    // A retry runs the job from the start: its viewers see the new attempt's output.
    job.log.restart()
    const controller = new AbortController()
    job.abort = controller
    table.start(job)
    let outcome: ExecOutcome | undefined
    let failure: string | undefined
    try {
      outcome = await exec.dispatch({
        peer: member.peer,
        jobId: job.id,
        manifest: job.manifest as unknown as Record<string, unknown>,
        bundle: job.bundle!,
        signal: controller.signal,
        timeoutMs: job.manifest.timeout * 1000 + options.dispatchMarginMs,
        onOutput: (stream, chunk) => job.log.append(stream, Buffer.from(chunk)),
      })
    } catch (error) {
      failure = shortMessageOf(error)
    } finally {
      member.running.delete(job.id)
      job.abort = null
      job.assigned = null
    }
    if (job.deleted || closed) return
    if (outcome) settle(job, member, outcome)
    else {
      member.totals.failed++
      registry.reportFailure(member, failure ?? 'dispatch failed')
      requeue(job, member, failure ?? 'dispatch failed')
    }
    pump()
  }

  function pump(): void {
    if (closed) return
    const allowlisted = registry.members().map((m) => m.workerId)
    for (const job of [...queue]) {
      if (job.failedOn.size > 0 && allowlisted.every((id) => job.failedOn.has(id))) {
        queue.splice(queue.indexOf(job), 1)
        finish(job, 'failed', `Every worker of the pool failed to run the job (${job.attempts} attempts).`)
        continue
      }
      const member = registry.pick(job.failedOn)
      if (!member) {
        if (Date.now() - job.queuedAt > options.queueTimeoutMs) {
          queue.splice(queue.indexOf(job), 1)
          finish(job, 'failed', 'No healthy worker took the job in time; GET /pool shows the workers and their health.')
        }
        continue
      }
      queue.splice(queue.indexOf(job), 1)
      void attempt(job, member)
    }
  }

  registry.onChange(pump)
  // Catches queue timeouts while no worker changes state.
  const sweeper = setInterval(pump, 5000)
  sweeper.unref()

  const outputEntry = (job: PoolJob, outputPath: string) => {
    const entry = job.entries.find((e) => e.name === `outputs/${outputPath}`)
    if (!entry) throw new BackendError('OUTPUT_NOT_FOUND', 'No such output file in this job. List the files with GET /outputs/:id.', { details: outputPath.slice(0, 256) })
    return entry
  }
  const jobsOn = (member: PoolMember) => [...member.running].map((id) => ({ jobId: id, startedAt: table.get(id)?.startedAt ?? null }))
  const queueLength = () => queue.length

  return {
    mode: 'pool',
    routes: poolStatusRoute({ registry, queueLength, jobsOn }),

    async submit({ manifest: input, bundle, clientId }: SubmitJobParameters) {
      if (closed) throw new BackendError('BACKEND_CLOSED', 'The server is shutting down; submit again in a moment.')
      if (queue.length >= options.maxQueuedJobs) throw new BackendError('QUEUE_FULL', 'The job queue is full; retry in a few seconds.')
      const { manifest } = await validateMarketJob({ manifest: input, bundle, environments })
      const now = clock.now()
      const job: PoolJob = {
        ...newTableJob({ clientId, captureBytes }),
        state: 'queued',
        manifest,
        bundle,
        submittedAt: now,
        queuedAt: now,
        startedAt: null,
        finishedAt: null,
        expiresAt: now + options.retentionMaxMs,
        execution: null,
        root: null,
        entries: [],
        contents: new Map(),
        worker: null,
        error: null,
        attempts: 0,
        failedOn: new Set(),
        assigned: null,
        abort: null,
      }
      table.add(job)
      queue.push(job)
      const position = queue.length
      pump()
      return { jobId: job.id, status: job.state, position: job.state === 'queued' ? position : 0 }
    },

    status: (jobId) => statusOf(table.find(jobId)),

    logs: (jobId) => table.find(jobId).log.snapshot(),

    watch: (jobId, listener) => table.watch(table.find(jobId), listener),

    async openOutput(jobId, outputPath) {
      const job = table.find(jobId)
      table.requireFinished(job)
      const entry = outputEntry(job, outputPath)
      const stream = whenSent(Readable.from([Buffer.from(job.contents.get(entry.name) ?? new Uint8Array())]), entry.size, () => table.markDownloaded(job, [outputPath]))
      return { file: { path: outputPath, sizeBytes: entry.size, sha256: entry.sha256.slice(2) }, stream }
    },

    async openOutputArchive(jobId) {
      const job = table.find(jobId)
      table.requireFinished(job)
      const outputs = job.entries.filter((e) => e.name.startsWith('outputs/'))
      return createOutputArchive({
        entries: outputs.map((e) => ({
          path: e.name.slice('outputs/'.length),
          sizeBytes: e.size,
          open: async (): Promise<Readable> => Readable.from([Buffer.from(job.contents.get(e.name) ?? new Uint8Array())]),
        })),
        onComplete: () => table.markDownloaded(job, outputPaths(job)),
      })
    },

    async delete(jobId) {
      await table.remove(table.find(jobId), 'deleted')
    },

    meterUsage: (meter) => table.meterUsage(meter),

    stats(): BackendStats {
      const healthy = registry.members().filter((m) => registry.isHealthy(m))
      return {
        queueLength: queue.length,
        runningJobs: table.jobs().filter((j) => j.state === 'running').length,
        parallelism: Math.max(1, healthy.reduce((sum, m) => sum + m.maxConcurrentJobs, 0)),
        ...table.stats(),
      }
    },

    environments: () => environments,

    privacy() {
      return (
        `Job data lives in RAM on this gateway (its memory) and on the pool worker that ran it (output files on tmpfs until they are sent back, nothing afterwards), never on a disk. ` +
        `It is ${describeRetention(options)}, and when the gateway restarts.`
      )
    },

    health(): BackendHealth {
      const members = registry.members()
      const healthy = members.filter((m) => registry.isHealthy(m)).length
      return {
        healthy: !closed,
        workerId: workerKey.workerId,
        mode: 'pool',
        isolation: 'allowlist',
        isolationNote: `Jobs run in the sandboxes of the ${members.length} workers in workers.json (${healthy} healthy now); results are signed by the worker's allowlisted key and checked here.`,
        gpus: [],
        gpuNote: 'GPUs belong to the workers.',
        packageIndexes: { pip: false, npm: false },
      }
    },

    jobsOn,
    queueLength,

    async close() {
      closed = true
      clearInterval(sweeper)
      await table.close()
    },
  }
}
