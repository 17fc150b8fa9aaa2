// Typed errors a JobBackend throws. backendErrorCodes gives each `code` its HTTP status; messages are
// shown to anonymous users, so they say what to fix and never contain host paths or job contents.
import { type ErrorCodeTable, SandrunError } from '../../errors/index.ts'

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

export const backendErrorCodes: ErrorCodeTable<BackendErrorCode> = {
  JOB_INVALID: { statusCode: 400, userFault: true },
  JOB_NOT_FOUND: { statusCode: 404, userFault: true },
  OUTPUT_NOT_FOUND: { statusCode: 404, userFault: true },
  JOB_NOT_FINISHED: { statusCode: 409, userFault: true },
  QUEUE_FULL: { statusCode: 503, userFault: false },
  BACKEND_CLOSED: { statusCode: 503, userFault: false },
}

export type BackendErrorParameters = {
  details?: string | undefined
  /** A stable sub-code from the layer below (e.g. the sandbox's MANIFEST_INVALID). */
  reason?: string | undefined
  cause?: unknown
}

export class BackendError extends SandrunError<BackendErrorCode> {
  override name = 'BackendError'
  readonly reason: string | undefined

  constructor(code: BackendErrorCode, shortMessage: string, { details, reason, cause }: BackendErrorParameters = {}) {
    super(code, shortMessage, backendErrorCodes, { details, cause })
    this.reason = reason
  }
}
