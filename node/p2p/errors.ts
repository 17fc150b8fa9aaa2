// Typed errors of the libp2p layer. Each `code` tells the caller what to do next: `penalize` says
// whether the remote peer misbehaved (drop it, lower its score, try another provider) or whether
// the failure is ours or the network's (retry elsewhere without blaming anyone).
import { type ErrorCodeTable, hostError, SandrunError } from '../../errors/index.ts'

export type P2pErrorCode =
  /** The bytes received do not hash to what was asked for: the provider lied or is broken. */
  | 'HASH_MISMATCH'
  /** The peer broke the wire format (bad frame, bad JSON, more bytes than it declared). */
  | 'PROTOCOL_VIOLATION'
  /** What the peer offers is bigger than this node's configured cap; raise the cap or skip it. */
  | 'TOO_LARGE'
  /** The peer does not have what was asked for (unknown bundle, job or log). */
  | 'NOT_FOUND'
  /** The peer answered with an error of its own (overloaded, internal failure). */
  | 'REMOTE_ERROR'
  /** No answer in time; try another peer or later. */
  | 'TIMEOUT'
  /** The caller's AbortSignal fired. */
  | 'ABORTED'
  /** The stream could not be opened or was reset (peer unreachable, protocol unsupported, limit hit). */
  | 'STREAM_FAILED'
  /** A local configuration or argument is invalid; fix the call, nothing to do with the peer. */
  | 'INVALID_ARGUMENT'
  /** The node key in the data dir cannot be used. */
  | 'KEY_INVALID'

export type P2pErrorParameters = {
  details?: string | undefined
  cause?: unknown
  /** Whether the remote peer is at fault; defaults by code (see penalizingCodes). */
  penalize?: boolean
}

const penalizingCodes: ReadonlySet<P2pErrorCode> = new Set(['HASH_MISMATCH', 'PROTOCOL_VIOLATION'])

/** Peer-to-peer failures are never an HTTP client's fault; the backends turn them into their own errors. */
export const p2pErrorCodes: ErrorCodeTable<P2pErrorCode> = {
  HASH_MISMATCH: hostError,
  PROTOCOL_VIOLATION: hostError,
  TOO_LARGE: hostError,
  NOT_FOUND: hostError,
  REMOTE_ERROR: hostError,
  TIMEOUT: hostError,
  ABORTED: hostError,
  STREAM_FAILED: hostError,
  INVALID_ARGUMENT: hostError,
  KEY_INVALID: hostError,
}

export class P2pError extends SandrunError<P2pErrorCode> {
  override name = 'P2pError'
  /** True when the remote peer misbehaved and should be penalised. */
  readonly penalize: boolean

  constructor(code: P2pErrorCode, shortMessage: string, { details, cause, penalize }: P2pErrorParameters = {}) {
    super(code, shortMessage, p2pErrorCodes, { details, cause })
    this.penalize = penalize ?? penalizingCodes.has(code)
  }
}
