// After a market job settles: every revealing worker's signed execution report (usage, termination,
// truncation), each checked against the worker's key and its own revealed root. These are what
// workers say about their runs; unlike the result, the chain does not vouch for them.
import type { PeerId } from '@libp2p/interface'
import type { ResultService } from '../../p2p/index.ts'
import { type ChainJobId, verifyExecutionReport } from '../../../verifier/index.ts'
import type { WorkerExecutionReport } from '../jobBackend.ts'

export type CollectExecutionReportsParameters = {
  results: Pick<ResultService, 'fetch'>
  chainId: number
  market: string
  chainJobId: ChainJobId
  /** Workers that revealed, with the root each revealed and their peer (null: not reachable). */
  revealers: Array<{ address: string; root: string; peer: PeerId | null }>
  /** Reports already in hand (from the full result fetch), by address. */
  known: Map<string, unknown>
  timeoutMs: number
}

/** The reports of the workers that revealed; a worker that sends none (or junk) is left out or marked invalid. */
export async function collectExecutionReports(parameters: CollectExecutionReportsParameters): Promise<WorkerExecutionReport[]> {
  const { results, chainId, market, chainJobId, revealers, known, timeoutMs } = parameters
  const reports = await Promise.all(
    revealers.map(async ({ address, root, peer }): Promise<WorkerExecutionReport | null> => {
      let raw = known.get(address)
      if (raw === undefined && peer) raw = (await results.fetch({ peer, jobId: chainJobId, withFiles: false, timeoutMs }).catch(() => undefined))?.execution
      if (raw === undefined) return null
      const verdict = verifyExecutionReport({ report: raw, chainId, market, jobId: chainJobId, resultRoot: root })
      if (!verdict.valid) return null
      const r = verdict.report
      // The key that signed must be the one this address staked under (its libp2p peer id).
      const signer = peer?.publicKey ? Buffer.from(peer.publicKey.raw).toString('base64') : null
      return {
        address,
        workerId: r.worker_id,
        cpuSeconds: r.cpu_seconds,
        memoryPeakBytes: r.memory_peak_bytes,
        wallTimeMs: r.wall_time_ms,
        exitCode: r.exit_code,
        termination: r.termination,
        stdoutTruncated: r.stdout_truncated,
        stderrTruncated: r.stderr_truncated,
        resultRoot: r.result_root,
        signature: r.signature,
        signatureValid: signer === r.worker_id,
      }
    }),
  )
  return reports.filter((r) => r !== null)
}
