// The worker's signed execution reports (usage, termination, truncation of each run it committed),
// kept beside its results and served with them over the result protocol. Reports live in memory for
// the results' retention time: after a restart a gateway shows "not reported" for that run, nothing false.
import type { RunJobResult } from '../../../sandbox/index.ts'
import { type ChainJobId, signExecutionReport, workerKeyFromSeed, type ExecutionReport, type WorkerKey } from '../../../verifier/index.ts'
import type { JobResultPayload } from '../../p2p/resultService.ts'

export type ExecutionReportsParameters = {
  workerKey: Pick<WorkerKey, 'privateKey'>
  chainId: number
  market: string
  retentionMs: number
}

export type ExecutionReports = {
  /** Signs the report of a run whose result root is `root`. */
  record(jobId: ChainJobId, root: string, result: RunJobResult): void
  /** The result with this job's report attached (as served to gateways). */
  attach(jobId: ChainJobId, result: JobResultPayload | undefined): JobResultPayload | undefined
}

export function executionReports({ workerKey, chainId, market, retentionMs }: ExecutionReportsParameters): ExecutionReports {
  const key = workerKeyFromSeed(workerKey.privateKey)
  const reports = new Map<ChainJobId, { report: ExecutionReport; at: number }>()
  return {
    record(jobId, root, result) {
      const now = Date.now()
      for (const [id, kept] of reports) if (kept.at < now - retentionMs) reports.delete(id)
      const report = signExecutionReport(key, {
        chain_id: chainId,
        market: market.toLowerCase(),
        job_id: jobId.toString(),
        result_root: root,
        cpu_seconds: result.cpuSeconds,
        memory_peak_bytes: result.memoryPeakBytes,
        wall_time_ms: result.wallTimeMs,
        exit_code: result.exitCode,
        termination: result.termination,
        stdout_truncated: result.stdoutTruncated,
        stderr_truncated: result.stderrTruncated,
      })
      reports.set(jobId, { report, at: now })
    },
    attach(jobId, result) {
      const kept = reports.get(jobId)
      return result && kept ? { ...result, execution: kept.report } : result
    },
  }
}
