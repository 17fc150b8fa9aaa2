// GET /download/:id/<path> streams one output file; GET /download/:id streams all of them as a
// tar.gz. Only files the job's output list names can be served, so a crafted path can at most miss.
import type { FastifyInstance } from 'fastify'
import { Type, type Static } from '@sinclair/typebox'
import type { GatewayContext } from '../gatewayContext.ts'
import { GatewayError } from '../gatewayError.ts'
import { DownloadParams, ErrorBody, JobIdParams, RateLimitedBody } from '../schemas.ts'
import { requestJobId } from '../requestJobId.ts'

const binary = Type.String({ format: 'binary' })

/** An output path as the job lists it: relative, forward slashes, no `.`/`..` segments, no NUL. */
function checkOutputPath(raw: string): string {
  const segments = raw.split('/')
  const valid = raw.length > 0 && !raw.includes('\0') && !raw.includes('\\') && segments.every((s) => s !== '' && s !== '.' && s !== '..')
  if (!valid) {
    throw new GatewayError('DOWNLOAD_PATH_INVALID', 'Invalid output path: use a path exactly as GET /outputs/:id lists it.', { details: 'Relative, forward slashes, no . or .. segments.' })
  }
  return raw
}

/** A filename safe inside a Content-Disposition header (ASCII, no quotes or separators). */
function dispositionName(outputPath: string): string {
  const base = outputPath.split('/').pop() ?? 'output'
  const safe = base.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120)
  return safe || 'output'
}

export function downloadRoutes(app: FastifyInstance, { backend, reads }: GatewayContext): void {
  app.get<{ Params: Static<typeof DownloadParams> }>(
    '/download/:id/*',
    {
      schema: {
        summary: 'Download one output file',
        params: DownloadParams,
        produces: ['application/octet-stream'],
        response: { 200: binary, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: RateLimitedBody, 500: ErrorBody },
      },
    },
    async (request, reply) => {
      const outputPath = checkOutputPath(request.params['*'])
      reads.hold(request, reply.raw)
      const { file, stream } = await backend.openOutput(requestJobId(request), outputPath)
      return reply
        .type('application/octet-stream')
        .header('content-length', String(file.sizeBytes))
        .header('content-disposition', `attachment; filename="${dispositionName(file.path)}"`)
        .header('x-content-type-options', 'nosniff')
        .header('x-sandrun-sha256', file.sha256)
        .send(stream)
    },
  )

  app.get<{ Params: Static<typeof JobIdParams> }>(
    '/download/:id',
    {
      schema: {
        summary: 'Download every output file as one tar.gz',
        params: JobIdParams,
        produces: ['application/gzip'],
        response: { 200: binary, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 429: RateLimitedBody, 500: ErrorBody },
      },
    },
    async (request, reply) => {
      reads.hold(request, reply.raw)
      const archive = await backend.openOutputArchive(requestJobId(request))
      return reply
        .type('application/gzip')
        .header('content-disposition', 'attachment; filename="outputs.tar.gz"')
        .header('x-content-type-options', 'nosniff')
        .send(archive)
    },
  )
}
