// The one place errors become HTTP answers: a SandrunError carries its status (from its class's code
// table), the body is always `{error, details}` (429 adds reason and retry_after), and a 500 never
// says what broke inside.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { errorCodeOf, SandrunError } from '../../errors/index.ts'
import { BackendError } from '../backends/backendError.ts'
import { GatewayError } from './gatewayError.ts'

// fastify and plugin errors whose own message is safe and useful to the client.
const frameworkMessages: Record<string, { status: number; error: string; details?: string }> = {
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, error: 'URL too long', details: 'Job ids and output paths are far shorter; check the URL.' },
  FST_ERR_BAD_URL: { status: 400, error: 'Invalid URL', details: 'The URL is not valid percent-encoding.' },
  FST_ERR_VALIDATION: { status: 400, error: 'Invalid request' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, error: 'Unsupported content type' },
  FST_INVALID_MULTIPART_CONTENT_TYPE: { status: 415, error: 'Unsupported content type' },
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, error: 'Upload too large' },
  FST_REQ_FILE_TOO_LARGE: { status: 413, error: 'Upload too large' },
  FST_PARTS_LIMIT: { status: 400, error: 'Invalid submission' },
  FST_FILES_LIMIT: { status: 400, error: 'Invalid submission' },
  FST_FIELDS_LIMIT: { status: 400, error: 'Invalid submission' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, error: 'Invalid request' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, error: 'Invalid request' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, error: 'Invalid request' },
}

export type ErrorReport = (message: string, context: Record<string, unknown>) => void

export function createErrorHandler(report: ErrorReport) {
  return function errorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    // A Sandrun error carries its status; 500 is the host's own failure and is answered below.
    if (error instanceof SandrunError && error.statusCode !== 500) {
      if (error.statusCode === 413) reply.header('connection', 'close')
      const details = error.details ? { details: error.details } : {}
      if (error instanceof GatewayError && error.code === 'RATE_LIMITED') {
        const retryAfter = error.retryAfterSeconds ?? 1
        reply.header('retry-after', String(retryAfter))
        return reply.code(429).send({ error: error.shortMessage, reason: error.reason ?? error.shortMessage, retry_after: retryAfter, ...details })
      }
      const code = error instanceof BackendError ? { code: error.reason ?? error.code } : {}
      return reply.code(error.statusCode).send({ error: error.shortMessage, ...details, ...code })
    }
    const code = errorCodeOf(error)
    const known = code ? frameworkMessages[code] : undefined
    if (known) {
      if (known.status === 413) reply.header('connection', 'close')
      return reply.code(known.status).send({ error: known.error, details: known.details ?? error.message.slice(0, 500) })
    }
    const statusCode = 'statusCode' in error && typeof error.statusCode === 'number' ? error.statusCode : undefined
    if (statusCode && statusCode >= 400 && statusCode < 500) {
      return reply.code(statusCode).send({ error: 'Invalid request', details: error.message.slice(0, 500) })
    }
    // A client that hung up mid-upload is not the service's failure (and hears no answer anyway).
    if (code === 'ECONNRESET' || request.raw.aborted) {
      return reply.code(400).send({ error: 'The request was cut off', details: 'The connection closed before the upload was complete.' })
    }
    // Never show internals (paths, stack) to anonymous clients; the operator gets the code.
    report('request failed', { code: code ?? error.name, method: request.method, route: request.routeOptions.url ?? 'unknown' })
    return reply.code(500).send({ error: 'Internal server error', details: 'The server could not handle this request; try again later.' })
  }
}
