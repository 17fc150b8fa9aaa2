// Typed errors of the market worker. Each `code` says what went wrong and the message says what the
// operator (start-up errors) or the worker loop (per-job errors: skip the job, try another) does next.
import { type ErrorCodeTable, hostError, SandrunError } from '../../../errors/index.ts'

export type WorkerErrorCode =
  /** A command-line or start-up option is invalid; fix the option. */
  | 'CONFIG_INVALID'
  /** `--fault` on a chain that is not a local dev chain (31337, 1337); faults are for tests and demos. */
  | 'FAULT_REFUSED'
  /** The worker's account lacks the ETH to stake and pay gas; fund the printed address. */
  | 'NOT_FUNDED'
  /** The spec document does not hash to the on-chain spec hash or is not a normalized spec; skip the job. */
  | 'SPEC_INVALID'
  /** This host lacks the job's environment digest or interpreter; skip the job. */
  | 'ENVIRONMENT_MISMATCH'
  /** No provider served the spec or bundle; skip the job (it may be announced again). */
  | 'FETCH_FAILED'

export type WorkerErrorParameters = {
  details?: string | undefined
  cause?: unknown
}

/** The worker's own errors: for its operator or its loop, never an HTTP client. */
export const workerErrorCodes: ErrorCodeTable<WorkerErrorCode> = {
  CONFIG_INVALID: hostError,
  FAULT_REFUSED: hostError,
  NOT_FUNDED: hostError,
  SPEC_INVALID: hostError,
  ENVIRONMENT_MISMATCH: hostError,
  FETCH_FAILED: hostError,
}

export class WorkerError extends SandrunError<WorkerErrorCode> {
  override name = 'WorkerError'

  constructor(code: WorkerErrorCode, shortMessage: string, parameters: WorkerErrorParameters = {}) {
    super(code, shortMessage, workerErrorCodes, parameters)
  }
}
