// Gets a job's result from the workers whose revealed root won on chain and accepts it only when
// every file matches its entry and the entries' root is the on-chain consensus root. A worker that
// serves anything else (a tampered result) is skipped and reported; the next agreeing one is tried.
import { checkResultFiles, type FetchResultReturnType, type PeerTarget, type ResultService } from '../../p2p/index.ts'
import { type ChainJobId, resultRoot } from '../../../verifier/index.ts'
import { type ErrorCodeTable, errorMessageOf, hostError, SandrunError } from '../../../errors/index.ts'

export type FetchVerifiedResultParameters = {
  results: Pick<ResultService, 'fetch'>
  /** The on-chain job id (decimal), the id workers serve results under. */
  chainJobId: ChainJobId
  /** The consensus root read from the chain, 0x hex. */
  root: string
  /** Workers in the majority, best first. */
  candidates: Array<{ address: string; peer: PeerTarget }>
  signal?: AbortSignal | undefined
  timeoutMs?: number | undefined
  /** The requester's claim for one worker (node/market/resultClaim.ts), so it deletes the result once served. */
  claimFor?: ((address: string) => Promise<string | undefined>) | undefined
  /** A candidate failed (unreachable, or served a result that does not match the root). */
  onRejected?: ((candidate: { address: string; peer: PeerTarget }, reason: string, lied: boolean) => void) | undefined
}

export type FetchVerifiedResultReturnType = { payload: FetchResultReturnType; address: string }

const resultUnavailableCodes: ErrorCodeTable<'RESULT_UNAVAILABLE'> = { RESULT_UNAVAILABLE: hostError }

export class ResultUnavailableError extends SandrunError<'RESULT_UNAVAILABLE'> {
  override name = 'ResultUnavailableError'

  constructor(message: string, { cause }: { cause?: unknown } = {}) {
    super('RESULT_UNAVAILABLE', message, resultUnavailableCodes, { cause })
  }
}

export async function fetchVerifiedResult({ results, chainJobId, root, candidates, signal, timeoutMs, claimFor, onRejected }: FetchVerifiedResultParameters): Promise<FetchVerifiedResultReturnType> {
  const reasons: string[] = []
  for (const candidate of candidates) {
    let payload: FetchResultReturnType
    try {
      const claim = await claimFor?.(candidate.address)
      payload = await results.fetch({ peer: candidate.peer, jobId: chainJobId, claim, signal, timeoutMs })
    } catch (error) {
      const reason = errorMessageOf(error).split('\n')[0] ?? 'fetch failed'
      reasons.push(`${candidate.address}: ${reason}`)
      onRejected?.(candidate, reason, false)
      continue
    }
    const problem = verify(payload, root)
    if (problem === null) return { payload, address: candidate.address }
    reasons.push(`${candidate.address}: ${problem}`)
    onRejected?.(candidate, problem, true)
  }
  throw new ResultUnavailableError(
    `No agreeing worker served a result matching the on-chain root ${root} (${candidates.length} tried); the gateway retries while the workers keep results.`,
    { cause: reasons },
  )
}

/** null when the payload is exactly the result committed on chain; otherwise what is wrong. */
function verify(payload: FetchResultReturnType, root: string): string | null {
  try {
    checkResultFiles(payload)
    const names = new Set(payload.entries.map((entry) => entry.name))
    if (names.size !== payload.entries.length) return 'the entry list names a file twice'
    const computed = resultRoot(payload.entries)
    return computed === root.toLowerCase() ? null : `its entries hash to ${computed}, not the on-chain root`
  } catch (error) {
    return errorMessageOf(error).split('\n')[0] ?? 'invalid result'
  }
}
