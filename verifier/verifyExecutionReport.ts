// Reads a worker's execution report as it came over the wire (untrusted JSON) and checks it: every
// field of the right type, the signature valid for the worker_id it names, and bound to the job and
// root the caller expects. Returns the report, or why it is refused.
import { ed25519 } from '@noble/curves/ed25519.js'
import type { ChainJobId } from './chainJobId.ts'
import { executionReportMessage, type ExecutionReport, type ExecutionReportFields } from './signExecutionReport.ts'

export type VerifyExecutionReportParameters = {
  report: unknown
  chainId: number
  market: string
  jobId: ChainJobId
  /** The worker's revealed root: a report about another result is refused. */
  resultRoot: string
}

export type VerifyExecutionReportReturnType = { report: ExecutionReport; valid: true } | { valid: false; reason: string }

const terminationPattern = /^(exited|signaled:[1-9][0-9]?|timeout|oom|cpu_limit|cancelled)$/
const fieldNames = ['v', 'chain_id', 'market', 'job_id', 'result_root', 'cpu_seconds', 'memory_peak_bytes', 'wall_time_ms', 'exit_code', 'termination', 'stdout_truncated', 'stderr_truncated', 'worker_id', 'signature']

const nonNegative = (value: unknown): value is number => typeof value === 'number' && Number.isFinite(value) && value >= 0

function shapeProblem(r: Record<string, unknown>): string | null {
  if (Object.keys(r).some((key) => !fieldNames.includes(key))) return 'unknown field'
  if (r.v !== 1) return 'v is not 1'
  if (!nonNegative(r.cpu_seconds) || !nonNegative(r.wall_time_ms) || !Number.isSafeInteger(r.memory_peak_bytes) || (r.memory_peak_bytes as number) < 0) return 'usage figures are not non-negative numbers'
  if (r.exit_code !== null && (!Number.isInteger(r.exit_code) || (r.exit_code as number) < 0 || (r.exit_code as number) > 255)) return 'exit_code is not 0-255 or null'
  if (typeof r.termination !== 'string' || !terminationPattern.test(r.termination)) return 'termination is unknown'
  if (typeof r.stdout_truncated !== 'boolean' || typeof r.stderr_truncated !== 'boolean') return 'truncation flags are not booleans'
  if (typeof r.worker_id !== 'string' || typeof r.signature !== 'string') return 'worker_id or signature missing'
  return null
}

export function verifyExecutionReport({ report, chainId, market, jobId, resultRoot }: VerifyExecutionReportParameters): VerifyExecutionReportReturnType {
  if (typeof report !== 'object' || report === null || Array.isArray(report)) return { valid: false, reason: 'not an object' }
  const r = report as Record<string, unknown>
  const problem = shapeProblem(r)
  if (problem) return { valid: false, reason: problem }
  if (r.chain_id !== chainId || r.market !== market.toLowerCase() || r.job_id !== jobId.toString()) return { valid: false, reason: 'report for another job' }
  if (typeof r.result_root !== 'string' || r.result_root.toLowerCase() !== resultRoot.toLowerCase()) return { valid: false, reason: 'report about another result root' }
  const publicKey = Buffer.from(r.worker_id as string, 'base64')
  const signature = Buffer.from(r.signature as string, 'base64')
  if (publicKey.length !== 32 || signature.length !== 64) return { valid: false, reason: 'malformed worker_id or signature' }
  const { signature: _signature, ...fields } = r
  try {
    if (!ed25519.verify(signature, executionReportMessage(fields as ExecutionReportFields), publicKey, { zip215: false })) return { valid: false, reason: 'bad signature' }
  } catch {
    return { valid: false, reason: 'bad signature' }
  }
  return { valid: true, report: r as ExecutionReport }
}
