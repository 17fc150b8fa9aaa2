// The one place errors become HTTP answers: typed codes map to a status, the body is always
// `{error, details}` (429 adds reason and retry_after), and 5xx answers never say what broke inside.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { BackendError, type BackendErrorCode } from '../backends/backendError.ts'
import { GatewayError, type GatewayErrorCode } from './gatewayError.ts'

const backendStatus: Record<BackendErrorCode, number> = {
  JOB_INVALID: 400,
  JOB_NOT_FOUND: 404,
  OUTPUT_NOT_FOUND: 404,
  JOB_NOT_FINISHED: 409,
  QUEUE_FULL: 503,
  BACKEND_CLOSED: 503,
}

const gatewayStatus: Record<GatewayErrorCode, number> = {
  SUBMISSION_INVALID: 400,
  UPLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  DOWNLOAD_PATH_INVALID: 400,
  CONTENT_TYPE_UNSUPPORTED: 415,
}

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
    if (error instanceof BackendError) {
      return reply
        .code(backendStatus[error.code])
        .send({ error: error.shortMessage, ...(error.details ? { details: error.details } : {}), code: error.reason ?? error.code })
    }
    if (error instanceof GatewayError) {
      const status = gatewayStatus[error.code]
      if (status === 413) reply.header('connection', 'close')
      if (error.code === 'RATE_LIMITED') {
        const retryAfter = error.retryAfterSeconds ?? 1
        reply.header('retry-after', String(retryAfter))
        return reply.code(429).send({ error: error.shortMessage, reason: error.reason ?? error.shortMessage, retry_after: retryAfter, ...(error.details ? { details: error.details } : {}) })
      }
      return reply.code(status).send({ error: error.shortMessage, ...(error.details ? { details: error.details } : {}) })
    }
    const code = (error as FastifyError).code
    const known = code ? frameworkMessages[code] : undefined
    if (known) {
      if (known.status === 413) reply.header('connection', 'close')
      return reply.code(known.status).send({ error: known.error, details: known.details ?? error.message.slice(0, 500) })
    }
    const statusCode = (error as FastifyError).statusCode
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
