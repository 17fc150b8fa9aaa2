// Errors of the Sandrun HTTP client, typed by what the caller should do: fix the request
// (REQUEST_INVALID), wait (RATE_LIMITED, retryAfterSeconds), give up on a gone job (NOT_FOUND),
// or check the gateway address (UNREACHABLE); NOT_SUPPORTED means this gateway's mode lacks the
// feature (e.g. verification outside market mode).
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type SandrunClientErrorCode = 'REQUEST_INVALID' | 'NOT_FOUND' | 'RATE_LIMITED' | 'SERVER_ERROR' | 'UNREACHABLE' | 'PROTOCOL' | 'NOT_SUPPORTED'

export type SandrunClientErrorParameters = {
  status?: number | undefined
  details?: string | undefined
  retryAfterSeconds?: number | undefined
  cause?: unknown
}

/** What the caller did wrong (4xx) or what failed on the way (the gateway's 5xx, the network). */
export const sandrunClientErrorCodes: ErrorCodeTable<SandrunClientErrorCode> = {
  REQUEST_INVALID: { statusCode: 400, userFault: true },
  NOT_FOUND: { statusCode: 404, userFault: true },
  RATE_LIMITED: { statusCode: 429, userFault: true },
  NOT_SUPPORTED: { statusCode: 501, userFault: true },
  SERVER_ERROR: hostError,
  UNREACHABLE: hostError,
  PROTOCOL: hostError,
}

export class SandrunClientError extends SandrunError<SandrunClientErrorCode> {
  override name = 'SandrunClientError'
  /** The status of the gateway's answer, when there was one. */
  readonly status: number | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: SandrunClientErrorCode, shortMessage: string, { status, details, retryAfterSeconds, cause }: SandrunClientErrorParameters = {}) {
    // The client's messages carry the details inline: one line for a CLI or a model to show.
    const message = details ? `${shortMessage} (${details})` : shortMessage
    super(code, message, sandrunClientErrorCodes, { details, cause, message })
    this.status = status
    this.retryAfterSeconds = retryAfterSeconds
  }
}

/** The client error for a non-2xx fetch Response with the gateway's `{error, details, reason, retry_after}` body. */
export async function errorFromResponse(response: Response): Promise<SandrunClientError> {
  return errorFromAnswer(response.status, response.statusText, await response.text().catch(() => ''))
}

/** The client error for a non-2xx answer, from its status and body text. */
export function errorFromAnswer(status: number, statusText: string, text: string): SandrunClientError {
  let body: { error?: string; details?: string; reason?: string; retry_after?: number } = {}
  try {
    body = JSON.parse(text) as typeof body
  } catch {
    body = { error: text.slice(0, 200) || statusText }
  }
  const message = body.error ?? `HTTP ${status}`
  if (status === 429) return new SandrunClientError('RATE_LIMITED', `${message}: ${body.reason ?? 'try again later'}`, { status, retryAfterSeconds: body.retry_after ?? 1 })
  if (status === 404) return new SandrunClientError('NOT_FOUND', message, { status, details: body.details })
  if (status >= 500) return new SandrunClientError('SERVER_ERROR', message, { status, details: body.details })
  return new SandrunClientError('REQUEST_INVALID', message, { status, details: body.details })
}
