// Gateway configuration: every option with its default and the reason for it, validated once at
// start-up (from CLI flags) and then passed in; nothing below reads process.env.
import { availableParallelism } from 'node:os'
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type RateLimitOptions = {
  /** CPU seconds one client may use per rolling minute. */
  cpuSecondsPerMinute: number
  /** Jobs one client may have queued or running at once. */
  concurrentJobs: number
  /** Jobs one client may submit per rolling hour. */
  jobsPerHour: number
}

export type GatewayOptions = {
  host: string
  port: number
  /**
   * Proxies whose X-Forwarded-For is believed: false (use the socket address), true (any hop,
   * only behind a proxy that strips the header), or a list of proxy addresses/CIDRs.
   */
  trustProxy: boolean | string[]
  rateLimits: RateLimitOptions
  /** Largest accepted upload (whole request body). */
  maxUploadBytes: number
  /** Largest manifest field. */
  maxManifestBytes: number
  /** Time allowed to receive a whole request, headers and body. */
  requestTimeoutMs: number
  /** Time allowed to receive the request headers. */
  headersTimeoutMs: number
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number
  /** How often the server checks for requests that ran past the timeouts above. */
  timeoutCheckIntervalMs: number
  /** Total size of the request line and headers. */
  maxHeaderBytes: number
  /** Connections open at once; null = derived from the process's file-descriptor limit. */
  maxConnections: number | null
  /**
   * Connections the kernel may queue for the service to accept (listen(2)'s backlog; the kernel
   * caps it at net.core.somaxconn).
   */
  listenBacklog: number
  /** Connections one client address (IPv6: its /64) may hold; not applied behind a trusted proxy. */
  maxConnectionsPerAddress: number
  /** New connections one client address may open per second (in bursts of maxConnectionsPerAddress); not applied behind a trusted proxy. */
  newConnectionsPerAddressPerSecond: number
  /** Log and output reads (GET /logs, /download) one address may have in progress at once. */
  maxReadsPerAddress: number
  /** WebSocket log viewers one address may hold. */
  maxLogViewersPerAddress: number
  /** Bytes sent to one log viewer and not yet taken by its socket; beyond this its replay waits. */
  logViewerMaxBufferedBytes: number
  /** The same, all viewers together: the service's memory for viewers, whatever their number. */
  logViewersMaxBufferedBytes: number
  /** A viewer whose socket takes nothing for this long is disconnected (close code 1013). */
  logViewerStallMs: number
  /** POST /verify uploads one address, and all together, may have in progress. */
  maxVerifyUploadsPerAddress: number
  maxVerifyUploads: number
  /** Longest `GET /status/:id?wait=` long poll. */
  statusWaitMaxSeconds: number
  /** JSON-RPC URL `GET/POST /verify/:id` read market jobs from; unset = chain checks answer 503. */
  rpcUrl?: string | undefined
}

export type LocalModeOptions = {
  /** Job data directory; must be tmpfs unless allowDiskStorage. */
  dataDir: string
  allowDiskStorage: boolean
  /** Jobs run at once. */
  parallelism: number
  /** Jobs allowed to wait in the queue. */
  maxQueuedJobs: number
  retentionMaxMs: number
  retentionAfterFailureMs: number
  /** Logs and outputs one client address's finished jobs may keep (RAM); its oldest go first beyond it. */
  maxRetainedBytesPerClient: number
  /** Worker key file; null = generate one into dataDir at start. */
  keyFile: string | null
  /** Directory of .whl files jobs' requirements.txt install from; null = pip requirements refused. */
  pipIndex: string | null
  /** npm cache directory jobs' package.json install from; null = npm requirements refused. */
  npmCache: string | null
  /** The registry URL the npm cache was filled from (npm keys its cache by it); never contacted. */
  npmRegistry: string | null
}

export const defaultGatewayOptions: GatewayOptions = {
  // Loopback: exposing an execution service is a decision the operator makes explicitly.
  host: '127.0.0.1',
  // Sandrun's historical port, so existing clients and docs keep working.
  port: 8443,
  // The socket address cannot be forged; X-Forwarded-For can, unless a known proxy sets it.
  trustProxy: false,
  // Sandrun's documented per-IP limits.
  rateLimits: { cpuSecondsPerMinute: 10, concurrentJobs: 2, jobsPerHour: 20 },
  // Sandrun's documented upload cap.
  maxUploadBytes: 100 * 1024 * 1024,
  // A manifest is a few hundred bytes; 64 KiB leaves room for long args/env lists.
  maxManifestBytes: 64 * 1024,
  // 100 MB at a slow 1 MB/s fits; a slowloris body cannot hold a socket longer than this.
  requestTimeoutMs: 120_000,
  // Honest clients send headers at once; this bounds slowloris-style header dribbling.
  headersTimeoutMs: 10_000,
  // Short keep-alive: idle sockets are a resource an anonymous service should not hoard.
  keepAliveTimeoutMs: 5_000,
  // Node's default (30 s) would let a stalled request live well past its timeout. Each check answers
  // every connection that ran out since the last in one go: under a flood of idle connections a
  // check a second made turns of 20-60 ms of 408s (docs/BENCHMARKS.md, session 33).
  timeoutCheckIntervalMs: 250,
  // Node's default; a header flood beyond it is answered with 431.
  maxHeaderBytes: 16 * 1024,
  // Three quarters of the descriptors, at most 10,000 (connectionGuard.ts): the rest stay for jobs.
  maxConnections: null,
  // Node's default, 511, fills in a fraction of a second under a reconnecting flood while the event
  // loop is busy; the kernel then drops the SYNs of every client alike, and an honest request waits
  // for its SYN to be sent again (1 s, 3 s, 7 s, 15 s, 31 s: the soak's multi-second p99). The largest
  // queue the kernel allows: a queued connection is a few KiB of kernel memory until the guard
  // answers or refuses it (docs/security.md).
  listenBacklog: 65_535,
  // Enough for a browser, a CLI and a few dozen log viewers behind one NAT; a flood from one
  // address meets 429 long before the global cap.
  maxConnectionsPerAddress: 64,
  // Keep-alive clients open a handful; a page load is a burst. A reconnect loop is refused before
  // it costs a request.
  newConnectionsPerAddressPerSecond: 10,
  // A browser's six parallel downloads plus a log view; each read holds at most a few stream buffers.
  maxReadsPerAddress: 8,
  // A few tabs and a CLI watching jobs; a share of the 64 connections an address may hold.
  maxLogViewersPerAddress: 8,
  // Enough to keep a fast viewer's socket busy; what lies beyond waits in the job's own log.
  logViewerMaxBufferedBytes: 256 * 1024,
  // 10,000 viewers at their own window would be 2.5 GiB; this caps their sum.
  logViewersMaxBufferedBytes: 32 * 1024 * 1024,
  // Far longer than any reading client pauses; a stopped one gives its connection back.
  logViewerStallMs: 30_000,
  // Checking a file needs one upload at a time; uploads are hashed as they arrive, never held.
  maxVerifyUploadsPerAddress: 2,
  maxVerifyUploads: 16,
  // Long enough to save clients a polling loop, short enough for proxies' idle timeouts.
  statusWaitMaxSeconds: 30,
}

export const defaultLocalModeOptions: LocalModeOptions = {
  // RAM-backed on every Linux: job data never reaches a disk.
  dataDir: '/dev/shm/sandrun',
  allowDiskStorage: false,
  // One job per core keeps every job near full speed.
  parallelism: availableParallelism(),
  // Bounds memory (bundles wait in RAM); per-IP limits keep one client from filling it.
  maxQueuedJobs: 1000,
  // Sandrun's retention: 1 hour at most, 5 minutes after a failure.
  retentionMaxMs: 60 * 60 * 1000,
  retentionAfterFailureMs: 5 * 60 * 1000,
  // Five jobs' worth of full outputs (100 MiB each) and logs: a client can keep what it asked for,
  // not an hour of 20 jobs' maximum (2 GiB) per address.
  maxRetainedBytesPerClient: 512 * 1024 * 1024,
  keyFile: null,
  // Installing job requirements is opt-in: the operator decides which packages jobs may use.
  pipIndex: null,
  npmCache: null,
  // npm's default registry, which a plain `npm cache add` fills the cache from.
  npmRegistry: null,
}

const configErrorCodes: ErrorCodeTable<'CONFIG_INVALID'> = { CONFIG_INVALID: hostError }

/** A gateway option is wrong: the operator fixes the flag it names. */
export class ConfigError extends SandrunError<'CONFIG_INVALID'> {
  override name = 'ConfigError'

  constructor(message: string) {
    super('CONFIG_INVALID', message, configErrorCodes)
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigError(`${name} must be a whole number >= 1, got ${value}.`)
  return value
}

function positiveNumber(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new ConfigError(`${name} must be a number > 0, got ${value}.`)
  return value
}

export type ResolveGatewayOptionsParameters = Partial<Omit<GatewayOptions, 'rateLimits'>> & { rateLimits?: Partial<RateLimitOptions> }

/** Fills in defaults and checks every value; throws ConfigError naming the bad option. */
export function resolveGatewayOptions(overrides: ResolveGatewayOptionsParameters = {}): GatewayOptions {
  const options: GatewayOptions = {
    ...defaultGatewayOptions,
    ...overrides,
    rateLimits: { ...defaultGatewayOptions.rateLimits, ...overrides.rateLimits },
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) throw new ConfigError(`port must be 0-65535, got ${options.port}.`)
  positiveNumber(options.rateLimits.cpuSecondsPerMinute, 'rateLimits.cpuSecondsPerMinute')
  positiveInteger(options.rateLimits.concurrentJobs, 'rateLimits.concurrentJobs')
  positiveInteger(options.rateLimits.jobsPerHour, 'rateLimits.jobsPerHour')
  for (const key of ['maxUploadBytes', 'maxManifestBytes', 'requestTimeoutMs', 'headersTimeoutMs', 'keepAliveTimeoutMs', 'timeoutCheckIntervalMs', 'maxHeaderBytes', 'logViewerMaxBufferedBytes', 'statusWaitMaxSeconds', 'maxConnectionsPerAddress', 'maxReadsPerAddress', 'maxLogViewersPerAddress', 'logViewersMaxBufferedBytes', 'logViewerStallMs', 'maxVerifyUploadsPerAddress', 'maxVerifyUploads', 'newConnectionsPerAddressPerSecond', 'listenBacklog'] as const) {
    positiveInteger(options[key], key)
  }
  if (options.maxConnections !== null) positiveInteger(options.maxConnections, 'maxConnections')
  if (options.headersTimeoutMs > options.requestTimeoutMs) throw new ConfigError('headersTimeoutMs must not exceed requestTimeoutMs.')
  return options
}

/** What `app.listen` needs from the options. */
export function listenOptions({ port, host, listenBacklog }: GatewayOptions): { port: number; host: string; backlog: number } {
  return { port, host, backlog: listenBacklog }
}

export function resolveLocalModeOptions(overrides: Partial<LocalModeOptions> = {}): LocalModeOptions {
  const options = { ...defaultLocalModeOptions, ...overrides }
  positiveInteger(options.parallelism, 'parallelism')
  positiveInteger(options.maxQueuedJobs, 'maxQueuedJobs')
  positiveInteger(options.retentionMaxMs, 'retentionMaxMs')
  positiveInteger(options.retentionAfterFailureMs, 'retentionAfterFailureMs')
  positiveInteger(options.maxRetainedBytesPerClient, 'maxRetainedBytesPerClient')
  if (!options.dataDir) throw new ConfigError('dataDir must be a directory path.')
  return options
}
