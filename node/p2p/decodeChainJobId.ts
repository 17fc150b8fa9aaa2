// A job id from a peer's message, read as the on-chain id it must be in market mode; null when the
// text is no chain id. The caller decides what that means: a rejected announcement, or "not found"
// for a result or logs request (a well-formed id that names no job here, as any unknown job).
import { type ChainJobId, chainJobId } from '../../verifier/index.ts'

export function decodeChainJobId(value: unknown): ChainJobId | null {
  if (typeof value !== 'string') return null
  try {
    return chainJobId(value)
  } catch {
    return null
  }
}
