// Human- and model-readable summaries of a job's status, shared by the MCP tools and `sandrun status`:
// state, exit, resource usage, output files and, in market mode, how the result was verified.
import { describeExecution } from './describeExecution.ts'
import type { JobStatusBody, JobVerification } from './sandrunClient.ts'

function describeVerification(verification: JobVerification): string {
  const count = (list: unknown[] | undefined): string => String(list?.length ?? 0)
  const parts = [
    `verification: ${verification.state ?? 'unknown'}${verification.result_verified ? ', result checked against the on-chain root' : ''}`,
    verification.result_root ? `result root ${verification.result_root}` : '',
    verification.agreeing ? `${count(verification.agreeing)} agreeing` : '',
    verification.dissenting ? `${count(verification.dissenting)} dissenting` : '',
    verification.slashed ? `${count(verification.slashed)} slashed` : '',
    verification.replicas !== undefined ? `${verification.replicas} replicas, quorum ${verification.quorum ?? '?'}` : '',
    verification.chain_id !== undefined ? `chain ${verification.chain_id}` : '',
    verification.market ? `market ${verification.market}` : '',
    verification.job_id !== undefined ? `on-chain job ${verification.job_id}` : '',
  ]
  return parts.filter(Boolean).join(', ')
}

/** Several lines: id and state, exit and usage, outputs, result root and verification. */
export function describeJob(status: JobStatusBody): string {
  const meta = status.execution_metadata
  const outputs = Object.values(status.output_files)
  const lines = [
    `job ${status.job_id}: ${status.status}${status.status === 'queued' && status.position ? ` (position ${status.position})` : ''}`,
    meta ? describeExecution(meta) : '',
    meta?.stdout_truncated ? 'stdout was cut at the gateway\'s cap per stream (10 MiB by default); the rest was not kept' : '',
    meta?.stderr_truncated ? 'stderr was cut at the gateway\'s cap per stream; the rest was not kept' : '',
    status.error ? `error: ${status.error}` : '',
    outputs.length ? `output files: ${outputs.map((f) => `${f.path} (${f.size_bytes} bytes)`).join(', ')}` : status.status === 'completed' || status.status === 'failed' ? 'no output files' : '',
    status.job_hash ? `result root: ${status.job_hash}` : '',
    status.verification ? describeVerification(status.verification) : '',
  ]
  return lines.filter(Boolean).join('\n')
}
