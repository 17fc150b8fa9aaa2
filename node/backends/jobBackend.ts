// The contract between the REST gateway and whoever runs jobs (local sandbox, worker pool, market).
// The gateway speaks only this interface, so the same API serves all three modes; every shape here
// is mode-neutral and free of host details (no paths); the few report shapes the sandbox already
// defines (environments, GPUs) are reused as types rather than written twice.
import type { Readable } from 'node:stream'
import type { FastifyPluginAsync } from 'fastify'
import type { EnvironmentsReport, EnvironmentsReportTemplate, GpuInfo } from '../../sandbox/index.ts'
import type { ChainJobId, GatewayJobId, OutputStream, SpecHash } from '../../verifier/index.ts'

export type JobState = 'queued' | 'running' | 'completed' | 'failed'

/** A job in this state changes no more: its status, log and outputs are what they will stay. */
export const isFinalState = (state: JobState): boolean => state === 'completed' || state === 'failed'

export type SubmitJobParameters = {
  /** The manifest exactly as the user sent it (validated by the backend). */
  manifest: unknown
  /** The job's gzip tar bundle. */
  bundle: Uint8Array
  /** Who submitted it (the client IP); used for per-client accounting, never logged with content. */
  clientId: string
  /** Filled with the bytes the backend inflated to check the bundle, accepted or not (to be charged). */
  meter?: { inflatedBytes: number } | undefined
}

export type SubmitJobReturnType = {
  jobId: GatewayJobId
  status: JobState
  /** 1-based place in the queue; 0 once the job runs or has finished. */
  position: number
}

/**
 * How a job ran. Usage figures are null where nobody measured them (never a made-up 0). In market
 * mode they are the median of what the workers signed; they are metadata, outside the result root.
 */
export type JobExecution = {
  cpuSeconds: number | null
  memoryPeakBytes: number | null
  exitCode: number | null
  environment: string
  wallTimeMs: number | null
  /** `exited`, `signaled:N`, `timeout`, `oom`, `cpu_limit` or `cancelled`. */
  termination: string
  /** The stream went past the capture cap (the same cap in every mode); the rest was not kept. */
  stdoutTruncated: boolean
  stderrTruncated: boolean
  /** Who measured the usage: this gateway's sandbox, the one pool worker, or the market's workers (median). */
  reportedBy: 'gateway' | 'worker' | 'workers'
  /** Market mode: how many signed worker reports the figures are the median of. */
  reports?: number | undefined
}

/** Market mode: one worker's signed account of its run (not part of the consensus root). */
export type WorkerExecutionReport = {
  address: string
  workerId: string
  cpuSeconds: number
  memoryPeakBytes: number
  wallTimeMs: number
  exitCode: number | null
  termination: string
  stdoutTruncated: boolean
  stderrTruncated: boolean
  resultRoot: string
  signature: string
  /** The signature checks out against the worker's key and binds this job and root. */
  signatureValid: boolean
}

export type JobOutputFile = {
  /** Path relative to the job's work dir, forward slashes. */
  path: string
  sizeBytes: number
  sha256: string
}

export type JobStatus = {
  jobId: GatewayJobId
  status: JobState
  position: number
  submittedAt: number
  startedAt: number | null
  finishedAt: number | null
  /** When the job's data will be deleted at the latest (ms since epoch). */
  expiresAt: number
  execution: JobExecution | null
  /** Result root (hex) over the result entries; null until the job has finished. */
  resultRoot: string | null
  outputFiles: JobOutputFile[]
  worker: { workerId: string; signature: string } | null
  /** Why a job failed without running (host failure), safe to show. */
  error: string | null
  /** Market mode: how the result was agreed on chain; absent in the other modes. */
  verification?: JobVerification | undefined
}

/** Market mode: the on-chain record behind a job's result (docs/contracts.md), for GET /status. */
export type JobVerification = {
  /** `posting` (no tx yet), `open`, then the chain's final word: `finalized`, `inconclusive`, `expired`, `cancelled`. */
  state: 'posting' | 'open' | 'finalized' | 'inconclusive' | 'expired' | 'cancelled'
  /** True once the served result was fetched and every byte checked against the on-chain root. */
  resultVerified: boolean
  resultRoot: string | null
  replicas: number
  quorum: number
  committed: number
  revealed: number
  /** Worker addresses whose revealed root equals the consensus root. */
  agreeing: string[]
  dissenting: string[]
  slashed: string[]
  chainId: number
  market: string
  /** The on-chain job id; null until the post transaction is mined. */
  chainJobId: ChainJobId | null
  specHash: SpecHash
  txHashes: { post: string | null; commits: string[]; reveals: string[]; finalize: string | null }
  /** The block the post transaction was mined in (decimal): where the job's events start. */
  postBlock?: string | null | undefined
  /** Blocks from the settling block to the head, both counted, when the gateway last looked; null before settlement. */
  confirmations?: number | null | undefined
  /** The depth the gateway waits for before it calls the job completed (the chain's confirmation depth). */
  confirmationsRequired?: number | undefined
  /** What each worker that revealed reports about its run, signed with its key. */
  executions?: WorkerExecutionReport[] | undefined
}

/** Market mode: one worker the gateway heard from (GET /pool). */
export type PoolWorker = {
  peerId: string
  address: string
  /** Stake on chain (wei, decimal); null when the chain could not be read. */
  stakeWei: string | null
  freeStakeWei: string | null
  /** What the worker asks (wei, decimal strings); null when its heartbeat does not say. */
  ask: { minProfitWei: string; minRewardWei: string | null } | null
  capabilities: { interpreters: string[]; gpu: boolean; maxJobs: number }
  environments: string[]
  load: { running: number }
  lastSeen: number
}

export type JobLogs = {
  stdout: Buffer
  stderr: Buffer
  stdoutTruncated: boolean
  stderrTruncated: boolean
}

/** One entry of a job's log: output, or a note that something was cut (see JobLog). */
export type JobLogEntry =
  | { type: 'output'; stream: OutputStream; data: Buffer }
  /** The stream reached the capture cap; nothing more of it follows. */
  | { type: 'truncated'; stream: OutputStream; capBytes: number }
  /** Bytes lost before they reached the gateway; the next output may start mid-line. */
  | { type: 'gap'; droppedBytes: number }

export type JobEvent = JobLogEntry | { type: 'status'; status: JobStatus }

export type WatchJobReturnType = {
  /** The log so far, in the order it was produced. */
  replay: JobLogEntry[]
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

/** GET /environments (docs/environments.md): the sandbox's report, as the backend serves it. */
export type BackendEnvironmentTemplate = EnvironmentsReportTemplate
export type BackendEnvironments = EnvironmentsReport

/** A GPU a host offers to jobs (no host paths). */
export type BackendGpu = Omit<GpuInfo, 'deviceFile'>

export type BackendHealth = {
  healthy: boolean
  workerId: string
  mode: 'local' | 'pool' | 'market'
  isolation: string
  isolationNote: string | null
  gpus: BackendGpu[]
  /** Why GPU details are incomplete (no nvidia-smi…), or null. */
  gpuNote: string | null
  /** Which kinds of job `requirements` can be installed. */
  packageIndexes: { pip: boolean; npm: boolean }
  /** Market mode: the gateway's libp2p identity, what workers pass to --bootstrap. */
  p2p?: { peerId: string; multiaddrs: string[] } | undefined
  /** Market mode: the deployment, and the RPC URL the operator chose to advertise (or null). */
  chain?: { chainId: number; market: string; rpcUrl: string | null } | undefined
}

/**
 * The clients' CPU quota as the backend sees it: it charges what each client's jobs use (the
 * service's own work for them included, in CPU seconds), and holds a client's running jobs while its
 * quota is used up. A backend that can only learn the CPU time at the end charges it then.
 */
export type UsageMeter = {
  charge(clientId: string, cpuSeconds: number): void
  exhausted(clientId: string): boolean
  /** CPU seconds charged to the client in the quota's window (a backend serves light clients first). */
  used(clientId: string): number
}

export type JobBackend = {
  readonly mode: 'local' | 'pool' | 'market'
  /** Validates and queues a job; throws BackendError (code JOB_INVALID, QUEUE_FULL) when it cannot. */
  submit(parameters: SubmitJobParameters): Promise<SubmitJobReturnType>
  /** Throws BackendError JOB_NOT_FOUND for unknown or deleted jobs. */
  status(jobId: GatewayJobId): JobStatus
  logs(jobId: GatewayJobId): JobLogs
  /** Snapshot and live subscription taken atomically; events stop after the final status event. */
  watch(jobId: GatewayJobId, listener: (event: JobEvent) => void): WatchJobReturnType
  /** One collected output; the backend counts it as downloaded once the stream has been read to the end. */
  openOutput(jobId: GatewayJobId, path: string): Promise<OpenOutputReturnType>
  /** All outputs as a gzip tar stream; counts every file as downloaded when read to the end. */
  openOutputArchive(jobId: GatewayJobId): Promise<Readable>
  /** Cancels a queued or running job and deletes its data. */
  delete(jobId: GatewayJobId): Promise<void>
  /** Where the CPU the clients' jobs use is charged (set once by the gateway). */
  meterUsage(meter: UsageMeter): void
  stats(): BackendStats
  environments(): BackendEnvironments
  health(): BackendHealth
  /** What this backend keeps of a job, where, and for how long (GET / and the web page say it). */
  privacy(): string
  /**
   * Routes only this mode has (GET /pool in pool and market mode), as a fastify plugin the gateway
   * registers beside the common API; a mode without any leaves it out.
   */
  routes?: FastifyPluginAsync | undefined
  close(): Promise<void>
}
