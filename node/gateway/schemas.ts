// TypeBox schemas of every request and response body of the REST API. They are the API contract
// (served as OpenAPI at /docs) and, as response serializers, keep fields not listed here from leaking.
import { Type, type Static } from '@sinclair/typebox'

export const ErrorBody = Type.Object(
  { error: Type.String(), details: Type.Optional(Type.String()) },
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

export const StatusResponse = Type.Object({
  job_id: Type.String(),
  status: JobState,
  position: Type.Integer(),
  submitted_at: Type.String({ format: 'date-time' }),
  started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  finished_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  expires_at: Type.String({ format: 'date-time', description: 'When the job data is deleted at the latest.' }),
  execution_metadata: Type.Union([
    Type.Object({
      cpu_seconds: Type.Number(),
      memory_peak_bytes: Type.Integer(),
      exit_code: Type.Union([Type.Integer(), Type.Null()]),
      environment: Type.String(),
      wall_time_ms: Type.Number(),
      termination: Type.String(),
    }),
    Type.Null(),
  ]),
  job_hash: Type.Union([Type.String({ description: 'Result root (RFC 6962 Merkle root over the result entries).' }), Type.Null()]),
  output_files: Type.Record(Type.String(), OutputFileEntry),
  worker_metadata: Type.Union([Type.Object({ worker_id: Type.String(), signature: Type.String() }), Type.Null()]),
  error: Type.Optional(Type.String()),
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

export const OutputsResponse = Type.Object({ job_id: Type.String(), outputs: Type.Array(OutputFileEntry) })

export const DownloadParams = Type.Object({ id: Type.String({ maxLength: 128 }), '*': Type.String({ maxLength: 4096 }) })

export const StatsResponse = Type.Object({
  your_quota: Type.Object({
    used: Type.Number(),
    limit: Type.Number(),
    available: Type.Number(),
    active_jobs: Type.Integer(),
    can_submit: Type.Boolean(),
    reason: Type.String(),
  }),
  system: Type.Object({
    queue_length: Type.Integer(),
    active_jobs: Type.Integer(),
    parallelism: Type.Integer(),
    jobs_total: Type.Integer(),
    completed_total: Type.Integer(),
    failed_total: Type.Integer(),
    retained_jobs: Type.Integer(),
  }),
})

export const EnvironmentsResponse = Type.Object({
  templates: Type.Array(Type.String()),
  interpreters: Type.Array(Type.Object({ name: Type.String(), version: Type.Union([Type.String(), Type.Null()]) })),
  stats: Type.Object({ total_templates: Type.Integer() }),
})

export const HealthResponse = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('unhealthy')]),
  worker_id: Type.String(),
  mode: Type.String(),
  isolation: Type.String(),
  isolation_note: Type.Union([Type.String(), Type.Null()]),
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
