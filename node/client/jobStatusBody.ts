// The JSON shapes of GET /status/:id as the client reads them (typed loosely where gateway versions
// differ). Apart from sandrunClient.ts so that the log stream can name them without a cycle.

export type JobState = 'queued' | 'running' | 'completed' | 'failed'

export type OutputFileBody = { path: string; size_bytes: number; sha256_hash: string; type: 'file' }

export type JobStatusBody = {
  job_id: string
  status: JobState
  position: number
  submitted_at: string
  started_at: string | null
  finished_at: string | null
  expires_at: string
  execution_metadata: {
    /** null when nobody measured it (never a made-up 0). */
    cpu_seconds: number | null
    memory_peak_bytes: number | null
    exit_code: number | null
    environment: string
    wall_time_ms: number | null
    termination: string
    /** Optional: older gateways leave these out. */
    stdout_truncated?: boolean
    stderr_truncated?: boolean
    /** gateway, worker, or workers (market mode: the median of the workers' signed reports). */
    reported_by?: string
    reports?: number
  } | null
  job_hash: string | null
  output_files: Record<string, OutputFileBody>
  worker_metadata: { worker_id: string; signature: string } | null
  /** Market mode only: how the result was agreed on chain. */
  verification?: JobVerification | undefined
  error?: string
}

/**
 * The market-mode verification summary in `/status` (how the chain agreed on the result). Typed
 * loosely on purpose: every field is optional, so older and newer gateways both parse.
 */
export type JobVerification = {
  /** posting, open, finalized, inconclusive, expired or cancelled. */
  state?: string
  /** True once the served result was checked byte for byte against the on-chain root. */
  result_verified?: boolean
  result_root?: string | null
  replicas?: number
  quorum?: number
  committed?: number
  revealed?: number
  /** Worker addresses. */
  agreeing?: string[]
  dissenting?: string[]
  slashed?: string[]
  chain_id?: number
  market?: string
  /** The on-chain job id (decimal). */
  job_id?: string | null
  spec_hash?: string
  tx_hashes?: { post?: string | null; commits?: string[]; reveals?: string[]; finalize?: string | null }
  /** Each revealing worker's signed report of its run (usage is reported, not agreed on chain). */
  executions?: Array<{ address: string; worker_id: string; cpu_seconds: number; memory_peak_bytes: number; wall_time_ms: number; exit_code: number | null; termination: string; signature_valid: boolean; [field: string]: unknown }>
  [field: string]: unknown
}

/** What to run: exactly one of a ready bundle, in-memory files, or a folder on disk. */
