// The contract between the REST gateway and whoever runs jobs (local sandbox, worker pool, market).
// The gateway speaks only this interface, so the same API serves all three modes; every shape here
// is mode-neutral and free of host details (no paths, no sandbox types).
import type { Readable } from 'node:stream'

export type JobState = 'queued' | 'running' | 'completed' | 'failed'

export type SubmitJobParameters = {
  /** The manifest exactly as the user sent it (validated by the backend). */
  manifest: unknown
  /** The job's gzip tar bundle. */
  bundle: Uint8Array
  /** Who submitted it (the client IP); used for per-client accounting, never logged with content. */
  clientId: string
}

export type SubmitJobReturnType = {
  jobId: string
  status: JobState
  /** 1-based place in the queue; 0 once the job runs or has finished. */
  position: number
}

export type JobExecution = {
  cpuSeconds: number
  memoryPeakBytes: number
  exitCode: number | null
  environment: string
  wallTimeMs: number
  /** `exited`, `signaled:N`, `timeout`, `oom`, `cpu_limit` or `cancelled`. */
  termination: string
}

export type JobOutputFile = {
  /** Path relative to the job's work dir, forward slashes. */
  path: string
  sizeBytes: number
  sha256: string
}

export type JobStatus = {
  jobId: string
  status: JobState
  position: number
  submittedAt: number
  startedAt: number | null
  finishedAt: number | null
  /** When the job's data will be deleted at the latest (ms since epoch). */
  expiresAt: number
  execution: JobExecution | null
  /** Result root (hex) over the result entries; null until the job has finished. */
  jobHash: string | null
  outputFiles: JobOutputFile[]
  worker: { workerId: string; signature: string } | null
  /** Why a job failed without running (host failure), safe to show. */
  error: string | null
}

export type JobLogs = {
  stdout: Buffer
  stderr: Buffer
  stdoutTruncated: boolean
  stderrTruncated: boolean
}

export type JobEvent =
  | { type: 'output'; stream: 'stdout' | 'stderr'; data: Buffer }
  | { type: 'status'; status: JobStatus }

export type WatchJobReturnType = {
  /** Output written so far, in the order it was produced. */
  replay: Array<{ stream: 'stdout' | 'stderr'; data: Buffer }>
  status: JobStatus
  /** Stop receiving events. */
  unsubscribe(): void
}

export type OpenOutputReturnType = {
  file: JobOutputFile
  stream: Readable
}

export type BackendStats = {
  queueLength: number
  runningJobs: number
  parallelism: number
  jobsTotal: number
  completedTotal: number
  failedTotal: number
  retainedJobs: number
  activeJobsOf(clientId: string): number
}

export type BackendEnvironments = {
  templates: string[]
  interpreters: Array<{ name: string; version: string | null }>
}

export type BackendHealth = {
  healthy: boolean
  workerId: string
  mode: 'local' | 'pool' | 'market'
  isolation: string
  isolationNote: string | null
}

/** Called once per finished job with its CPU use, so the gateway can charge the client's quota. */
export type JobFinishedListener = (event: { jobId: string; clientId: string; cpuSeconds: number }) => void

export type JobBackend = {
  readonly mode: 'local' | 'pool' | 'market'
  /** Validates and queues a job; throws BackendError (code JOB_INVALID, QUEUE_FULL) when it cannot. */
  submit(parameters: SubmitJobParameters): Promise<SubmitJobReturnType>
  /** Throws BackendError JOB_NOT_FOUND for unknown or deleted jobs. */
  status(jobId: string): JobStatus
  logs(jobId: string): JobLogs
  /** Snapshot and live subscription taken atomically; events stop after the final status event. */
  watch(jobId: string, listener: (event: JobEvent) => void): WatchJobReturnType
  /** One collected output; the backend counts it as downloaded once the stream has been read to the end. */
  openOutput(jobId: string, path: string): Promise<OpenOutputReturnType>
  /** All outputs as a gzip tar stream; counts every file as downloaded when read to the end. */
  openOutputArchive(jobId: string): Promise<Readable>
  /** Cancels a queued or running job and deletes its data. */
  delete(jobId: string): Promise<void>
  onJobFinished(listener: JobFinishedListener): void
  stats(): BackendStats
  environments(): BackendEnvironments
  health(): BackendHealth
  close(): Promise<void>
}
