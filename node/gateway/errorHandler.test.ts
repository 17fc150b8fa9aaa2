// What a client hears for each typed error: the status and body the error handler builds from the
// error's own code table. The statuses are the API's (docs/api.md); a change here breaks clients.
import Fastify from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BackendError, type BackendErrorCode } from '../backends/backendError.ts'
import { ChainError } from '../chain/errors.ts'
import { SandboxError } from '../../sandbox/index.ts'
import { createErrorHandler } from './errorHandler.ts'
import { GatewayError, type GatewayErrorCode } from './gatewayError.ts'

const backendStatuses: Record<BackendErrorCode, number> = {
  JOB_INVALID: 400,
  JOB_NOT_FOUND: 404,
  OUTPUT_NOT_FOUND: 404,
  JOB_NOT_FINISHED: 409,
  QUEUE_FULL: 503,
  BACKEND_CLOSED: 503,
}
const gatewayStatuses: Record<Exclude<GatewayErrorCode, 'RATE_LIMITED'>, number> = {
  SUBMISSION_INVALID: 400,
  UPLOAD_TOO_LARGE: 413,
  DOWNLOAD_PATH_INVALID: 400,
  CONTENT_TYPE_UNSUPPORTED: 415,
}

const reports: Array<Record<string, unknown>> = []
const app = Fastify()
app.setErrorHandler(createErrorHandler((_message, context) => void reports.push(context)))
let thrown: unknown
app.get('/throw', async () => {
  throw thrown
})

async function answer(error: unknown) {
  thrown = error
  const response = await app.inject({ method: 'GET', url: '/throw' })
  return { status: response.statusCode, body: response.json() as Record<string, unknown>, headers: response.headers }
}

beforeAll(() => app.ready())
afterAll(() => app.close())

describe('the error handler', () => {
  it.each(Object.entries(backendStatuses))('answers BackendError %s with %i, its message, details and code', async (code, status) => {
    const { status: got, body } = await answer(new BackendError(code as BackendErrorCode, 'Fix this.', { details: 'Like so.' }))
    expect(got).toBe(status)
    expect(body).toEqual({ error: 'Fix this.', details: 'Like so.', code })
  })

  it('gives a BackendError the sub-code of the layer below', async () => {
    const { body } = await answer(new BackendError('JOB_INVALID', 'Bad manifest.', { reason: 'MANIFEST_INVALID' }))
    expect(body).toEqual({ error: 'Bad manifest.', code: 'MANIFEST_INVALID' })
  })

  it.each(Object.entries(gatewayStatuses))('answers GatewayError %s with %i and its message, no code', async (code, status) => {
    const { status: got, body, headers } = await answer(new GatewayError(code as GatewayErrorCode, 'Fix this.', { details: 'Like so.' }))
    expect(got).toBe(status)
    expect(body).toEqual({ error: 'Fix this.', details: 'Like so.' })
    expect(headers.connection === 'close').toBe(status === 413)
  })

  it('answers RATE_LIMITED with 429, the reason and when to retry', async () => {
    const { status, body, headers } = await answer(new GatewayError('RATE_LIMITED', 'Too many requests.', { reason: 'per-IP submit limit', retryAfterSeconds: 7 }))
    expect(status).toBe(429)
    expect(headers['retry-after']).toBe('7')
    expect(body).toEqual({ error: 'Too many requests.', reason: 'per-IP submit limit', retry_after: 7 })
  })

  it('says nothing of a host failure but that the request failed, and reports its code', async () => {
    for (const error of [new ChainError('NO_ACCOUNT', 'No account at /home/op/key.'), new SandboxError('SANDBOX_FAILED', 'bwrap at /usr/bin/bwrap died.'), new Error('/secret/path')]) {
      const { status, body } = await answer(error)
      expect(status).toBe(500)
      expect(body).toEqual({ error: 'Internal server error', details: 'The server could not handle this request; try again later.' })
    }
    expect(reports.map((r) => r.code)).toEqual(['NO_ACCOUNT', 'SANDBOX_FAILED', 'Error'])
  })
})
