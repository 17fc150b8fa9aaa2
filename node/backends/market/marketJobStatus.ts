// A market job's status as the API shows it, from the gateway's record of it: copies, so a caller
// holding one never sees the record change under it.
import type { JobStatus } from '../jobBackend.ts'
import type { MarketJobRecord } from './jobStore.ts'

/** `position`: the job's place in the gateway's line of jobs held until the workers have room (1 = next), 0 when not held. */
export function marketJobStatus(r: MarketJobRecord, position = 0): JobStatus {
  const exit = r.result?.find((e) => e.name === 'exit')
  return {
    jobId: r.id,
    status: r.state,
    position,
    submittedAt: r.submittedAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    expiresAt: r.expiresAt,
    execution: exit && r.execution ? { ...r.execution } : null,
    resultRoot: r.result ? r.verification.resultRoot : null,
    outputFiles: (r.result ?? [])
      .filter((e) => e.name.startsWith('outputs/'))
      .map((e) => ({ path: e.name.slice('outputs/'.length), sizeBytes: e.size, sha256: e.sha256.slice(2) })),
    worker: null,
    error: r.error,
    verification: {
      ...r.verification,
      agreeing: [...r.verification.agreeing],
      dissenting: [...r.verification.dissenting],
      slashed: [...r.verification.slashed],
      executions: (r.verification.executions ?? []).map((e) => ({ ...e })),
    },
  }
}
