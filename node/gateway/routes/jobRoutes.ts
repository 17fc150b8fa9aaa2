// Read a job: GET /status/:id (optionally long-polling with ?wait=), GET /logs/:id (JSON, or text
// with ?format=text / Accept: text/plain), GET /outputs/:id, and DELETE /jobs/:id (cancel and delete now).
import type { IncomingMessage } from 'node:http'
import type { FastifyInstance } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { isFinalState, type JobBackend, type JobStatus } from '../../backends/jobBackend.ts'
import type { GatewayJobId } from '../../../verifier/index.ts'
import type { GatewayContext } from '../gatewayContext.ts'
import { logsJsonStream, logsTextStream } from '../logsJsonStream.ts'
import { statusBody } from '../statusBody.ts'
import { requestJobId } from '../requestJobId.ts'
import {
  DeleteResponse,
  ErrorBody,
  JobIdParams,
  LogsJsonResponse,
  LogsQuery,
  OutputsResponse,
  RateLimitedBody,
  StatusQuery,
  StatusResponse,
} from '../schemas.ts'

/**
 * JSON by default, as Sandrun's published clients expect; text only when asked for by the query or
 * by an Accept header that names text/plain without JSON (browsers' and curl's wildcards get JSON).
 */
function logsFormat(query: 'text' | 'json' | undefined, accept: string | undefined): 'text' | 'json' {
  if (query) return query
  const wanted = (accept ?? '').toLowerCase()
  return wanted.includes('text/plain') && !wanted.includes('application/json') ? 'text' : 'json'
}

const isFinal = (status: JobStatus): boolean => isFinalState(status.status)

/**
 * Resolves with the job's status once it is final, or the current status after `timeoutMs` or once
 * the client's request closes (a plain listener: an AbortSignal per long poll costs more).
 */
function waitForFinal(backend: JobBackend, jobId: GatewayJobId, timeoutMs: number, request: IncomingMessage): Promise<JobStatus> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined
    const done = (): void => {
      clearTimeout(timer)
      watch.unsubscribe()
      request.removeListener('close', done)
      // The job may have been deleted meanwhile; answer with what is known then.
      try {
        resolve(backend.status(jobId))
      } catch {
        resolve(watch.status)
      }
    }
    const watch = backend.watch(jobId, (event) => {
      if (event.type === 'status' && isFinal(event.status)) done()
    })
    if (isFinal(watch.status)) return done()
    timer = setTimeout(done, timeoutMs)
    request.once('close', done)
  })
}

export function jobRoutes(app: FastifyInstance, { backend, options, reads }: GatewayContext): void {
  app.get<{ Params: Static<typeof JobIdParams>; Querystring: Static<typeof StatusQuery> }>(
    '/status/:id',
    {
      schema: {
        summary: 'Job status, execution metadata, result hash and output files',
        params: JobIdParams,
        querystring: StatusQuery,
        response: { 200: StatusResponse, 400: ErrorBody, 404: ErrorBody, 500: ErrorBody },
      },
    },
    async (request) => {
      const waitSeconds = Math.min(request.query.wait ?? 0, options.statusWaitMaxSeconds)
      const jobId = requestJobId(request)
      const current = backend.status(jobId)
      if (waitSeconds === 0 || isFinal(current)) return statusBody(current)
      return statusBody(await waitForFinal(backend, jobId, waitSeconds * 1000, request.raw))
    },
  )

  app.get<{ Params: Static<typeof JobIdParams>; Querystring: Static<typeof LogsQuery> }>(
    '/logs/:id',
    {
      schema: {
        summary: 'The job output so far as JSON {stdout, stderr, ...}; as text (stdout then stderr) with ?format=text or Accept: text/plain',
        params: JobIdParams,
        querystring: LogsQuery,
        produces: ['application/json', 'text/plain'],
        response: {
          200: { content: { 'application/json': { schema: LogsJsonResponse }, 'text/plain': { schema: { type: 'string' } } } },
          400: ErrorBody,
          404: ErrorBody,
          429: RateLimitedBody,
          500: ErrorBody,
        },
      },
    },
    async (request, reply) => {
      reads.hold(request, reply.raw)
      const jobId = requestJobId(request)
      const status = backend.status(jobId)
      const logs = backend.logs(jobId)
      // Streamed as the client reads, never built whole: the logs are views of the job's own
      // buffers, and only a piece of their encoding exists at a time (logsJsonStream.ts).
      if (logsFormat(request.query.format, request.headers.accept) === 'json') {
        return reply.type('application/json').send(
          logsJsonStream({
            job_id: status.jobId,
            status: status.status,
            stdout: logs.stdout,
            stderr: logs.stderr,
            stdout_truncated: logs.stdoutTruncated,
            stderr_truncated: logs.stderrTruncated,
          }),
        )
      }
      return reply
        .type('text/plain; charset=utf-8')
        .header('x-content-type-options', 'nosniff')
        .header('content-length', String(logs.stdout.length + logs.stderr.length))
        .send(logsTextStream([logs.stdout, logs.stderr]))
    },
  )

  app.get<{ Params: Static<typeof JobIdParams> }>(
    '/outputs/:id',
    {
      schema: {
        summary: 'List the output files of a finished job',
        params: JobIdParams,
        response: { 200: OutputsResponse, 400: ErrorBody, 404: ErrorBody, 500: ErrorBody },
      },
    },
    async (request) => {
      const status = backend.status(requestJobId(request))
      return {
        job_id: status.jobId,
        // Sandrun's published clients read `files` (names they pass to /download/:id/<name>).
        files: status.outputFiles.map((f) => f.path),
        outputs: status.outputFiles.map((f) => ({ path: f.path, size_bytes: f.sizeBytes, sha256_hash: f.sha256, type: 'file' as const })),
      }
    },
  )

  app.delete<{ Params: Static<typeof JobIdParams> }>(
    '/jobs/:id',
    {
      schema: {
        summary: 'Cancel a job (if it has not finished) and delete its data now',
        params: JobIdParams,
        response: { 200: DeleteResponse, 400: ErrorBody, 404: ErrorBody, 500: ErrorBody },
      },
    },
    async (request) => {
      const jobId = requestJobId(request)
      await backend.delete(jobId)
      return { job_id: jobId, status: 'deleted' as const }
    },
  )
}
