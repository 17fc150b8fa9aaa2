// Typed errors of pool mode (workers.json, worker and gateway set-up). Each code says what to fix;
// messages never contain job contents.
export type PoolErrorCode =
  /** A flag or option is wrong; fix the command line. */
  | 'CONFIG_INVALID'
  /** workers.json cannot be read or does not follow the format (docs/network.md, "Pool mode"). */
  | 'WORKERS_FILE_INVALID'

export type PoolErrorParameters = {
  details?: string | undefined
  cause?: unknown
}

export class PoolError extends Error {
  override name = 'PoolError'
  readonly code: PoolErrorCode
  readonly shortMessage: string
  readonly details: string | undefined

  constructor(code: PoolErrorCode, shortMessage: string, { details, cause }: PoolErrorParameters = {}) {
    super(details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage, { cause })
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
  }
}
