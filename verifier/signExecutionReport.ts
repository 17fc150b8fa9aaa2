// A worker's signed account of one run (usage, termination, truncation): metadata beside the result,
// never part of the result root, so the chain cannot vouch for it. The signature (Ed25519, the worker
// key behind its libp2p peer id) binds the figures to this deployment, job and result root, so a
// gateway can show who claims what and nobody can pass one worker's report off as another's.
import { ed25519 } from '@noble/curves/ed25519.js'
import { canonicalJson } from './canonicalJson.ts'
import type { WorkerKey } from './workerIdentity.ts'

export type ExecutionReportFields = {
  v: 1
  chain_id: number
  /** Market address, lowercase. */
  market: string
  /** On-chain job id, decimal. */
  job_id: string
  /** The root this worker committed (0x hex). */
  result_root: string
  cpu_seconds: number
  memory_peak_bytes: number
  wall_time_ms: number
  exit_code: number | null
  termination: string
  stdout_truncated: boolean
  stderr_truncated: boolean
  /** Base64 Ed25519 public key of the signer. */
  worker_id: string
}

export type ExecutionReport = ExecutionReportFields & { signature: string }

/** Signatures cover this tag and the canonical JSON of every other field. */
export const executionReportTag = 'sandrun-execution-v1:'

/** The bytes a report's signature covers. */
export function executionReportMessage(fields: ExecutionReportFields): Uint8Array {
  return new TextEncoder().encode(executionReportTag + canonicalJson(fields))
}

/** Signed once per job (cost is no concern), with the same key as the worker's result signatures. */
export function signExecutionReport(key: WorkerKey, fields: Omit<ExecutionReportFields, 'v' | 'worker_id'>): ExecutionReport {
  const signed: ExecutionReportFields = { v: 1, ...fields, worker_id: key.workerId }
  return { ...signed, signature: Buffer.from(ed25519.sign(executionReportMessage(signed), key.privateKey)).toString('base64') }
}
