// Typed errors of pool mode (workers.json, worker and gateway set-up). Each code says what to fix;
// messages never contain job contents.
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type PoolErrorCode =
  /** A flag or option is wrong; fix the command line. */
  | 'CONFIG_INVALID'
  /** workers.json cannot be read or does not follow the format (docs/network.md, "Pool mode"). */
  | 'WORKERS_FILE_INVALID'

export type PoolErrorParameters = {
  details?: string | undefined
  cause?: unknown
}

/** Set-up errors: the operator fixes them; they never reach an HTTP client. */
export const poolErrorCodes: ErrorCodeTable<PoolErrorCode> = {
  CONFIG_INVALID: hostError,
  WORKERS_FILE_INVALID: hostError,
}

export class PoolError extends SandrunError<PoolErrorCode> {
  override name = 'PoolError'

  constructor(code: PoolErrorCode, shortMessage: string, parameters: PoolErrorParameters = {}) {
    super(code, shortMessage, poolErrorCodes, parameters)
  }
}
