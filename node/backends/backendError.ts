// Typed errors a JobBackend throws. The gateway maps each `code` to an HTTP status; messages are
// shown to anonymous users, so they say what to fix and never contain host paths or job contents.

export type BackendErrorCode =
  /** The manifest or bundle is wrong; the submitter must change the job (400). */
  | 'JOB_INVALID'
  /** No such job, or its data was already deleted (404). */
  | 'JOB_NOT_FOUND'
  /** No such output file in this job (404). */
  | 'OUTPUT_NOT_FOUND'
  /** Outputs are asked for before the job has finished (409). */
  | 'JOB_NOT_FINISHED'
  /** The backend is at capacity; retry later (503). */
  | 'QUEUE_FULL'
  /** The backend is shutting down (503). */
  | 'BACKEND_CLOSED'

export type BackendErrorParameters = {
  details?: string | undefined
  /** A stable sub-code from the layer below (e.g. the sandbox's MANIFEST_INVALID). */
  reason?: string | undefined
  cause?: unknown
}

export class BackendError extends Error {
  override name = 'BackendError'
  readonly code: BackendErrorCode
  readonly shortMessage: string
  readonly details: string | undefined
  readonly reason: string | undefined

  constructor(code: BackendErrorCode, shortMessage: string, { details, reason, cause }: BackendErrorParameters = {}) {
    super(details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage, { cause })
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
    this.reason = reason
  }
}
