// TypeBox schemas of every request and response body of the REST API. They are the API contract
// (served as OpenAPI at /docs) and, as response serializers, keep fields not listed here from leaking.
import { Type, type Static } from '@sinclair/typebox'

export const ErrorBody = Type.Object(
  {
    error: Type.String(),
    details: Type.Optional(Type.String()),
    code: Type.Optional(Type.String({ description: 'A stable code for a refused job (e.g. GPU_UNAVAILABLE, ENVIRONMENT_UNKNOWN, MANIFEST_INVALID).' })),
  },
  { $id: 'ErrorBody', description: 'Every error: a message and, where useful, what to fix.' },
)
export type ErrorBody = Static<typeof ErrorBody>

export const RateLimitedBody = Type.Object(
  { error: Type.String(), details: Type.Optional(Type.String()), reason: Type.String(), retry_after: Type.Integer({ description: 'Seconds until a retry can succeed.' }) },
  { $id: 'RateLimitedBody' },
)

export const JobState = Type.Union([Type.Literal('queued'), Type.Literal('running'), Type.Literal('completed'), Type.Literal('failed')])

export const JobIdParams = Type.Object({ id: Type.String({ maxLength: 128, description: 'The job id returned by POST /submit.' }) })
export type JobIdParams = Static<typeof JobIdParams>

export const SubmitResponse = Type.Object({
  job_id: Type.String(),
  status: JobState,
  position: Type.Integer({ description: '1-based place in the queue.' }),
})

export const OutputFileEntry = Type.Object({
  path: Type.String(),
  size_bytes: Type.Integer(),
  sha256_hash: Type.String(),
  type: Type.Literal('file'),
})

export const VerificationBody = Type.Object(
  {
    state: Type.String({ description: 'posting, open, finalized, inconclusive, expired or cancelled (the on-chain job status).' }),
    result_verified: Type.Boolean({ description: 'The served result was fetched and every file checked against the on-chain root.' }),
    result_root: Type.Union([Type.String(), Type.Null()], { description: 'Consensus result root on chain (RFC 6962 Merkle root).' }),
    replicas: Type.Integer(),
    quorum: Type.Integer(),
    committed: Type.Integer(),
    revealed: Type.Integer(),
    agreeing: Type.Array(Type.String(), { description: 'Worker addresses whose revealed root is the consensus root.' }),
    dissenting: Type.Array(Type.String()),
    slashed: Type.Array(Type.String()),
    chain_id: Type.Integer(),
    market: Type.String(),
    job_id: Type.Union([Type.String(), Type.Null()], { description: 'The on-chain job id (decimal).' }),
    spec_hash: Type.String(),
    post_block: Type.Union([Type.String(), Type.Null()], { description: 'The block the job was posted in (decimal); its events start there.' }),
    confirmations: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Blocks from the settling block to the head, both counted, when the gateway last looked; null before settlement.',
    }),
    confirmations_required: Type.Integer({ description: 'The depth the settlement must reach before the job is completed (the chain\'s confirmation depth).' }),
    tx_hashes: Type.Object({
      post: Type.Union([Type.String(), Type.Null()]),
      commits: Type.Array(Type.String()),
      reveals: Type.Array(Type.String()),
      finalize: Type.Union([Type.String(), Type.Null()]),
    }),
    executions: Type.Array(
      Type.Object({
        address: Type.String(),
        worker_id: Type.String({ description: 'The worker\'s Ed25519 key (base64), the one its libp2p peer id and stake are registered under.' }),
        cpu_seconds: Type.Number(),
        memory_peak_bytes: Type.Integer(),
        wall_time_ms: Type.Number(),
        exit_code: Type.Union([Type.Integer(), Type.Null()]),
        termination: Type.String(),
        stdout_truncated: Type.Boolean(),
        stderr_truncated: Type.Boolean(),
        result_root: Type.String(),
        signature: Type.String(),
        signature_valid: Type.Boolean(),
      }),
      { description: 'Each revealing worker\'s signed report of its run (usage is reported by workers, not agreed on chain).' },
    ),
  },
  { description: 'Market mode only: how the result was agreed on chain; check it yourself with the chain id, market and job id.' },
)

export const PoolResponse = Type.Object({
  workers: Type.Array(
    Type.Object({
      peer_id: Type.String(),
      address: Type.String(),
      stake_wei: Type.Union([Type.String(), Type.Null()]),
      free_stake_wei: Type.Union([Type.String(), Type.Null()]),
      capabilities: Type.Object({ interpreters: Type.Array(Type.String()), gpu: Type.Boolean(), max_jobs: Type.Integer() }),
      environments: Type.Array(Type.String()),
      load: Type.Object({ running: Type.Integer() }),
      ask: Type.Union(
        [
          Type.Object({
            min_profit_wei: Type.String({ description: 'What the worker wants left of a reward after gas (its --min-profit-wei).' }),
            min_reward_wei: Type.Union([Type.String(), Type.Null()], {
              description: 'The least reward per replica it takes: its commit and reveal gas at the fee it last saw, plus min_profit_wei.',
            }),
          }),
          Type.Null(),
        ],
        { description: 'What the worker asks (wei, decimal); null for a worker that does not say.' },
      ),
      last_seen: Type.String({ format: 'date-time' }),
    }),
  ),
})

export const StatusResponse = Type.Object({
  job_id: Type.String(),
  status: JobState,
  position: Type.Integer(),
  submitted_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  expires_at: Type.String({ format: 'date-time', description: 'When the job data is deleted at the latest.' }),
  execution_metadata: Type.Union([
    Type.Object(
      {
        cpu_seconds: Type.Union([Type.Number(), Type.Null()], { description: 'CPU seconds of the job; null when nobody measured it.' }),
        memory_peak_bytes: Type.Union([Type.Integer(), Type.Null()]),
        exit_code: Type.Union([Type.Integer(), Type.Null()]),
        environment: Type.String(),
        wall_time_ms: Type.Union([Type.Number(), Type.Null()], { description: 'From the start of the job code to its end, as measured by the sandbox.' }),
        termination: Type.String(),
        stdout_truncated: Type.Boolean({ description: 'stdout went past the capture cap (10 MiB per stream by default); the rest was not kept.' }),
        stderr_truncated: Type.Boolean(),
        reported_by: Type.String({ description: 'gateway (this machine\'s sandbox), worker (the pool worker that ran it) or workers (market: the median of the signed reports of the workers, outside the consensus root).' }),
        reports: Type.Optional(Type.Integer({ description: 'Market mode: how many worker reports the figures are the median of.' })),
      },
      { description: 'How the job ran. In market mode these are what the workers report and sign; they are not part of the result root, see verification.executions.' },
    ),
    Type.Null(),
  ]),
  job_hash: Type.Union([Type.String({ description: 'Result root (RFC 6962 Merkle root over the result entries).' }), Type.Null()]),
  output_files: Type.Record(Type.String(), OutputFileEntry),
  worker_metadata: Type.Union([Type.Object({ worker_id: Type.String(), signature: Type.String() }), Type.Null()]),
  error: Type.Optional(Type.String()),
  verification: Type.Optional(VerificationBody),
})
export type StatusResponse = Static<typeof StatusResponse>

export const StatusQuery = Type.Object({
  wait: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600, description: 'Wait up to this many seconds (capped by the server) for the job to finish.' })),
})

export const LogsQuery = Type.Object({ format: Type.Optional(Type.Union([Type.Literal('text'), Type.Literal('json')])) })

export const LogsJsonResponse = Type.Object({
  job_id: Type.String(),
  status: JobState,
  stdout: Type.String(),
  stderr: Type.String(),
  stdout_truncated: Type.Boolean(),
  stderr_truncated: Type.Boolean(),
})

export const OutputsResponse = Type.Object({
  job_id: Type.String(),
  files: Type.Array(Type.String(), { description: 'Output paths, as Sandrun\'s clients read them; each downloads from /download/:id/<path>.' }),
  outputs: Type.Array(OutputFileEntry),
})

export const DownloadParams = Type.Object({ id: Type.String({ maxLength: 128 }), '*': Type.String({ maxLength: 4096 }) })

export const StatsResponse = Type.Object({
  your_quota: Type.Object({
    used: Type.Number(),
    limit: Type.Number(),
    available: Type.Number(),
    active_jobs: Type.Integer(),
    can_submit: Type.Boolean(),
    reason: Type.String(),
    retry_after: Type.Integer({ description: 'Seconds until a submission can pass again; 0 when it can now.' }),
  }),
  system: Type.Object({
    queue_length: Type.Integer(),
    active_jobs: Type.Integer(),
    parallelism: Type.Integer(),
    jobs_total: Type.Integer(),
    completed_total: Type.Integer(),
    failed_total: Type.Integer(),
    retained_jobs: Type.Integer(),
    event_loop_delay_ms: Type.Object(
      {
        p99: Type.Number(),
        max: Type.Number(),
        max_running: Type.Union([Type.Number(), Type.Null()], {
          description: 'The longest the main thread ran between two turns of a 10 ms timer: the service\'s own work holding the loop (null where the kernel does not say).',
        }),
        max_waiting_for_cpu: Type.Union([Type.Number(), Type.Null()], {
          description: 'The longest the main thread waited for a CPU between two such turns: the host\'s load, not the service\'s work (null likewise).',
        }),
      },
      { description: "How long the service's event loop was held up over the last one to two minutes, and why." },
    ),
  }),
})

export const EnvironmentTemplateEntry = Type.Object({
  version: Type.Integer({ description: 'Bumped whenever the package list changes.' }),
  description: Type.String(),
  packages: Type.Array(Type.String(), { description: 'Debian packages of the template.' }),
  imports: Type.Array(Type.String(), { description: 'Python modules the template provides.' }),
  installed: Type.Boolean({ description: 'Every package is installed here; jobs may ask for it.' }),
  versions: Type.Record(Type.String(), Type.String(), { description: 'Debian version of each installed template package.' }),
  missing: Type.Array(Type.String()),
  digest: Type.Union([Type.String(), Type.Null()], { description: 'Environment digest for python3 jobs; null when not installed.' }),
  digests: Type.Record(Type.String(), Type.String(), { description: 'Environment digest per interpreter.' }),
})

export const EnvironmentsResponse = Type.Object({
  templates: Type.Record(Type.String(), EnvironmentTemplateEntry),
  interpreters: Type.Array(Type.Object({ name: Type.String(), version: Type.Union([Type.String(), Type.Null()]) })),
  stats: Type.Object({ total_templates: Type.Integer(), installed_templates: Type.Integer(), available_interpreters: Type.Integer() }),
})

export const GpuEntry = Type.Object({
  index: Type.Integer(),
  name: Type.String(),
  memory_mib: Type.Union([Type.Integer(), Type.Null()]),
  driver_version: Type.Union([Type.String(), Type.Null()]),
  compute_capability: Type.Union([Type.String(), Type.Null()]),
  cuda_version: Type.Union([Type.String(), Type.Null()], { description: 'Highest CUDA version the driver supports.' }),
})

export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  worker_id: Type.String(),
  mode: Type.String(),
  isolation: Type.String(),
  isolation_note: Type.Union([Type.String(), Type.Null()]),
  gpus: Type.Array(GpuEntry, { description: 'NVIDIA GPUs jobs can ask for with "gpu"; empty when there are none.' }),
  gpu_note: Type.Union([Type.String(), Type.Null()], { description: 'Why GPU details are incomplete, if they are.' }),
  package_indexes: Type.Object(
    { pip: Type.Boolean(), npm: Type.Boolean() },
    { description: 'Which kinds of "requirements" this host installs (requirements.txt: pip, package.json: npm).' },
  ),
  p2p: Type.Optional(
    Type.Object(
      { peer_id: Type.String(), multiaddrs: Type.Array(Type.String()) },
      { description: 'Market mode: the gateway\'s libp2p addresses; a worker joins with --bootstrap <one of them>.' },
    ),
  ),
  chain: Type.Optional(
    Type.Object(
      { chain_id: Type.Integer(), market: Type.String(), rpc_url: Type.Union([Type.String(), Type.Null()], { description: 'An RPC URL the operator advertises (--public-rpc), or null.' }) },
      { description: 'Market mode: the deployment results are agreed on; check them with sandrun verify --rpc <url> --market <market>.' },
    ),
  ),
})

export const RootResponse = Type.Object({
  service: Type.Literal('sandrun'),
  status: Type.Literal('running'),
  mode: Type.String(),
  description: Type.String(),
  privacy: Type.String(),
  limits: Type.String(),
  docs: Type.String(),
})

export const DeleteResponse = Type.Object({ job_id: Type.String(), status: Type.Literal('deleted') })

/** Error responses shared by the job routes. */
export const jobErrorResponses = { 400: ErrorBody, 404: ErrorBody, 500: ErrorBody }
