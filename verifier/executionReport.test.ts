import { describe, expect, it } from 'vitest'
import { chainJobId } from './chainJobId.ts'
import { signExecutionReport } from './signExecutionReport.ts'
import { verifyExecutionReport } from './verifyExecutionReport.ts'
import { generateWorkerKey } from './workerIdentity.ts'

const root = `0x${'ab'.repeat(32)}`
const fields = { chain_id: 31337, market: `0x${'11'.repeat(20)}`, job_id: '7', result_root: root, cpu_seconds: 1.25, memory_peak_bytes: 9_000_000, wall_time_ms: 6012.5, exit_code: 0, termination: 'exited', stdout_truncated: false, stderr_truncated: true }
const expected = { chainId: 31337, market: `0x${'11'.repeat(20)}`, jobId: chainJobId(7n), resultRoot: root }

describe('execution reports', () => {
  it('a signed report verifies for its job and root, and names its signer', () => {
    const key = generateWorkerKey()
    const report = signExecutionReport(key, fields)
    expect(report.worker_id).toBe(key.workerId)
    // Through JSON, as it travels.
    const verdict = verifyExecutionReport({ report: JSON.parse(JSON.stringify(report)), ...expected })
    expect(verdict).toEqual({ valid: true, report })
  })

  it('refuses a changed figure, another job or root, a swapped signer and junk', () => {
    const report = signExecutionReport(generateWorkerKey(), fields)
    expect(verifyExecutionReport({ report: { ...report, cpu_seconds: 0.5 }, ...expected })).toEqual({ valid: false, reason: 'bad signature' })
    expect(verifyExecutionReport({ report, ...expected, jobId: chainJobId(8n) })).toEqual({ valid: false, reason: 'report for another job' })
    expect(verifyExecutionReport({ report, ...expected, resultRoot: `0x${'cd'.repeat(32)}` })).toEqual({ valid: false, reason: 'report about another result root' })
    expect(verifyExecutionReport({ report: { ...report, worker_id: generateWorkerKey().workerId }, ...expected })).toEqual({ valid: false, reason: 'bad signature' })
    expect(verifyExecutionReport({ report: { ...report, extra: 1 }, ...expected })).toEqual({ valid: false, reason: 'unknown field' })
    expect(verifyExecutionReport({ report: { ...report, memory_peak_bytes: -1 }, ...expected }).valid).toBe(false)
    expect(verifyExecutionReport({ report: 'x', ...expected }).valid).toBe(false)
  })
})
