// Turns a backend JobStatus into Sandrun's documented JSON shape (snake_case, output_files keyed by
// path, worker_metadata); shared by GET /status and the final message of the log stream.
import type { JobStatus, JobVerification } from '../backends/jobBackend.ts'
import type { StatusResponse } from './schemas.ts'

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString())

export function statusBody(status: JobStatus): StatusResponse {
  const outputFiles: StatusResponse['output_files'] = {}
  for (const file of status.outputFiles) {
    outputFiles[file.path] = { path: file.path, size_bytes: file.sizeBytes, sha256_hash: file.sha256, type: 'file' }
  }
  const e = status.execution
  return {
    job_id: status.jobId,
    status: status.status,
    position: status.position,
    submitted_at: new Date(status.submittedAt).toISOString(),
    started_at: iso(status.startedAt),
    finished_at: iso(status.finishedAt),
    expires_at: new Date(status.expiresAt).toISOString(),
    execution_metadata: e
      ? {
          cpu_seconds: e.cpuSeconds,
          memory_peak_bytes: e.memoryPeakBytes,
          exit_code: e.exitCode,
          environment: e.environment,
          wall_time_ms: e.wallTimeMs,
          termination: e.termination,
          stdout_truncated: e.stdoutTruncated,
          stderr_truncated: e.stderrTruncated,
          reported_by: e.reportedBy,
          ...(e.reports !== undefined ? { reports: e.reports } : {}),
        }
      : null,
    job_hash: status.resultRoot,
    output_files: outputFiles,
    worker_metadata: status.worker ? { worker_id: status.worker.workerId, signature: status.worker.signature } : null,
    ...(status.error ? { error: status.error } : {}),
    ...(status.verification ? { verification: verificationBody(status.verification) } : {}),
  }
}

function verificationBody(v: JobVerification): NonNullable<StatusResponse['verification']> {
  return {
    state: v.state,
    result_verified: v.resultVerified,
    result_root: v.resultRoot,
    replicas: v.replicas,
    quorum: v.quorum,
    committed: v.committed,
    revealed: v.revealed,
    agreeing: v.agreeing,
    dissenting: v.dissenting,
    slashed: v.slashed,
    chain_id: v.chainId,
    market: v.market,
    job_id: v.chainJobId === null ? null : v.chainJobId.toString(),
    spec_hash: v.specHash,
    tx_hashes: v.txHashes,
    post_block: v.postBlock ?? null,
    confirmations: v.confirmations ?? null,
    confirmations_required: v.confirmationsRequired ?? 0,
    executions: (v.executions ?? []).map((r) => ({
      address: r.address,
      worker_id: r.workerId,
      cpu_seconds: r.cpuSeconds,
      memory_peak_bytes: r.memoryPeakBytes,
      wall_time_ms: r.wallTimeMs,
      exit_code: r.exitCode,
      termination: r.termination,
      stdout_truncated: r.stdoutTruncated,
      stderr_truncated: r.stderrTruncated,
      result_root: r.resultRoot,
      signature: r.signature,
      signature_valid: r.signatureValid,
    })),
  }
}
