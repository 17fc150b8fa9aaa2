// GET /pool in pool mode: every allowlisted worker with its health, load and the jobs it runs now.
// Jobs appear as a reference (first 16 hex digits of sha256(job id)), never by id: a job id is
// the only capability to its data, and /pool is public. A user can compute the reference of their own id.
import { createHash } from 'node:crypto'
import { Type } from '@sinclair/typebox'
import type { FastifyPluginAsync } from 'fastify'
import type { GatewayJobId } from '../../../verifier/index.ts'
import { ErrorBody } from '../../gateway/schemas.ts'
import type { PoolMember, WorkerRegistry } from './workerRegistry.ts'

export const PoolModeResponse = Type.Object({
  mode: Type.Literal('pool'),
  queue_length: Type.Integer(),
  workers: Type.Array(
    Type.Object({
      worker_id: Type.String({ description: 'Base64 Ed25519 public key, as in workers.json.' }),
      peer_id: Type.String(),
      endpoint: Type.Union([Type.String(), Type.Null()]),
      connected: Type.Boolean(),
      healthy: Type.Boolean(),
      last_seen: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      ping_ms: Type.Union([Type.Number(), Type.Null()]),
      last_error: Type.Union([Type.String(), Type.Null()]),
      max_concurrent_jobs: Type.Integer(),
      load: Type.Object({ running: Type.Integer() }),
      jobs: Type.Array(Type.Object({ job_ref: Type.String({ description: 'First 16 hex digits of sha256(job id).' }), started_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]) })),
      totals: Type.Object({ dispatched: Type.Integer(), completed: Type.Integer(), failed: Type.Integer() }),
    }),
  ),
})

/** The reference under which GET /pool lists a job. */
export function jobRef(jobId: GatewayJobId): string {
  return createHash('sha256').update(jobId).digest('hex').slice(0, 16)
}

export type PoolStatusRouteParameters = {
  registry: WorkerRegistry
  queueLength(): number
  jobsOn(member: PoolMember): Array<{ jobId: GatewayJobId; startedAt: number | null }>
}

/** The pool backend's own routes, as a fastify plugin the gateway registers (JobBackend.routes). */
export function poolStatusRoute(backend: PoolStatusRouteParameters): FastifyPluginAsync {
  const { registry } = backend
  return async (app) => {
    app.get('/pool', { schema: { summary: 'Allowlisted workers: health, load and jobs (pool mode)', response: { 200: PoolModeResponse, 500: ErrorBody } } }, async () => ({
      mode: 'pool' as const,
      queue_length: backend.queueLength(),
      workers: registry.members().map((m) => ({
        worker_id: m.workerId,
        peer_id: m.peerId,
        endpoint: m.endpoint,
        connected: m.connected,
        healthy: registry.isHealthy(m),
        last_seen: m.lastSeen === null ? null : new Date(m.lastSeen).toISOString(),
        ping_ms: m.pingMs,
        last_error: m.lastError,
        max_concurrent_jobs: m.maxConcurrentJobs,
        load: { running: m.running.size },
        jobs: backend.jobsOn(m).map((j) => ({ job_ref: jobRef(j.jobId), started_at: j.startedAt === null ? null : new Date(j.startedAt).toISOString() })),
        totals: { ...m.totals },
      })),
    }))
  }
}
