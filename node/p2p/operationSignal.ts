// One signal per network call: the caller's AbortSignal combined with the call's own timeout, and a
// translation of whatever a libp2p stream throws into a P2pError that says who was at fault.
import { P2pError } from './errors.ts'

export type OperationSignalParameters = {
  signal?: AbortSignal | undefined
  timeoutMs: number
}

export type OperationSignalReturnType = {
  signal: AbortSignal
  /** The P2pError for the current abort reason (TIMEOUT or ABORTED), or undefined while not aborted. */
  abortError(what: string): P2pError | undefined
}

export function operationSignal({ signal, timeoutMs }: OperationSignalParameters): OperationSignalReturnType {
  const timeout = AbortSignal.timeout(timeoutMs)
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout
  return {
    signal: combined,
    abortError(what) {
      if (!combined.aborted) return undefined
      if (timeout.aborted && !signal?.aborted) {
        return new P2pError('TIMEOUT', `${what} took longer than ${timeoutMs} ms; try another peer or raise the timeout.`)
      }
      return new P2pError('ABORTED', `${what} was aborted by the caller.`, { cause: signal?.reason })
    },
  }
}

/** Wraps any failure of a network call into a P2pError, preferring the abort reason when there is one. */
export function toP2pError(error: unknown, what: string, op: OperationSignalReturnType): P2pError {
  const aborted = op.abortError(what)
  if (aborted) return aborted
  if (error instanceof P2pError) return error
  const message = error instanceof Error ? error.message : String(error)
  return new P2pError('STREAM_FAILED', `${what} failed: the stream to the peer was refused or reset; try another peer.`, {
    details: message,
    cause: error,
  })
}
