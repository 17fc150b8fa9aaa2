// Errors raised by the HTTP layer itself (bad multipart, limits). Like BackendError, each has a
// `code` the error handler maps to a status and a message that tells the client what to fix.

export type GatewayErrorCode =
  | 'SUBMISSION_INVALID'
  | 'UPLOAD_TOO_LARGE'
  | 'RATE_LIMITED'
  | 'DOWNLOAD_PATH_INVALID'
  | 'CONTENT_TYPE_UNSUPPORTED'

export type GatewayErrorParameters = {
  details?: string | undefined
  /** RATE_LIMITED only: why, and when to try again. */
  reason?: string | undefined
  retryAfterSeconds?: number | undefined
}

export class GatewayError extends Error {
  override name = 'GatewayError'
  readonly code: GatewayErrorCode
  readonly shortMessage: string
  readonly details: string | undefined
  readonly reason: string | undefined
  readonly retryAfterSeconds: number | undefined

  constructor(code: GatewayErrorCode, shortMessage: string, { details, reason, retryAfterSeconds }: GatewayErrorParameters = {}) {
    super(details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage)
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
    this.reason = reason
    this.retryAfterSeconds = retryAfterSeconds
  }
}
