// The base of every Sandrun error (the model: viem's BaseError, fastify's error codes). Each
// subclass has a code table that says, per code, the HTTP status a client gets and whether the user
// caused it; the gateway reads both from the error and keeps no table of its own.
import { walkError } from './walkError.ts'

export type ErrorCodeInfo = {
  /**
   * The status of the HTTP answer when this error reaches the gateway's error handler. 500 means
   * the host's own failure: the client hears only that the request failed, the operator the code.
   */
  readonly statusCode: number
  /** True when whoever sent the request or job can fix it by changing it (a 4xx, not a host failure). */
  readonly userFault: boolean
}

export type ErrorCodeTable<Code extends string> = { readonly [K in Code]: ErrorCodeInfo }

/** The entry of a code that the host or its operator has to fix: no client caused it or is shown it. */
export const hostError: ErrorCodeInfo = { statusCode: 500, userFault: false }

export type SandrunErrorParameters = {
  details?: string | undefined
  cause?: unknown
  /** The whole message, for a class that writes it other than as "shortMessage\n\nDetails: details". */
  message?: string | undefined
}

export class SandrunError<Code extends string = string> extends Error {
  override name = 'SandrunError'
  /** Stable: callers branch on it, logs carry it. */
  readonly code: Code
  /** One sentence that says what went wrong and what to fix; safe to show to anonymous users. */
  readonly shortMessage: string
  readonly details: string | undefined
  readonly statusCode: number
  readonly isUserError: boolean

  constructor(code: Code, shortMessage: string, table: ErrorCodeTable<Code>, { details, cause, message }: SandrunErrorParameters = {}) {
    super(message ?? (details ? `${shortMessage}\n\nDetails: ${details}` : shortMessage), cause === undefined ? undefined : { cause })
    this.code = code
    this.shortMessage = shortMessage
    this.details = details
    this.statusCode = table[code].statusCode
    this.isUserError = table[code].userFault
  }

  /** This error or the first of its causes that `match` accepts; without `match`, the deepest cause (viem's walk). */
  walk(match?: (error: unknown) => boolean): unknown {
    return walkError(this, match)
  }
}
