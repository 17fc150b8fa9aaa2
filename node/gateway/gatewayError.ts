// Errors raised by the HTTP layer itself (bad multipart, limits). Like BackendError, each `code` has
// its status in gatewayErrorCodes and a message that tells the client what to fix.
import { type ErrorCodeTable, SandrunError } from '../../errors/index.ts'

export type GatewayErrorCode =
  | 'SUBMISSION_INVALID'
  | 'UPLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'DOWNLOAD_PATH_INVALID'
  | 'CONTENT_TYPE_UNSUPPORTED'

export const gatewayErrorCodes: ErrorCodeTable<GatewayErrorCode> = {
  SUBMISSION_INVALID: { statusCode: 400, userFault: true },
  UPLOAD_TOO_LARGE: { statusCode: 413, userFault: true },
  RATE_LIMITED: { statusCode: 429, userFault: true },
  DOWNLOAD_PATH_INVALID: { statusCode: 400, userFault: true },
  CONTENT_TYPE_UNSUPPORTED: { statusCode: 415, userFault: true },
}

export type GatewayErrorParameters = {
  details?: string | undefined
  /** RATE_LIMITED only: why, and when to try again. */
  reason?: string | undefined
  retryAfterSeconds?: number | undefined
}

export class GatewayError extends SandrunError<GatewayErrorCode> {
  override name = 'GatewayError'
  readonly reason: string | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: GatewayErrorCode, shortMessage: string, { details, reason, retryAfterSeconds }: GatewayErrorParameters = {}) {
    super(code, shortMessage, gatewayErrorCodes, { details })
    this.reason = reason
    this.retryAfterSeconds = retryAfterSeconds
  }
}
