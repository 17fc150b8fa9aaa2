// The job table on its own, on a clock the test moves: retention, download-triggered deletion, what
// watchers hear when a job goes before it finished, and the counts behind /metrics and the limits.
import { describe, expect, expectTypeOf, it } from 'vitest'
import { chainJobId, type GatewayJobId, gatewayJobId } from '../../../verifier/index.ts'
import { manualClock } from '../../../test/retention/manualClock.ts'
import type { JobBackend, JobEvent, JobState, JobStatus } from '../jobBackend.ts'
import { createJobTable, newJobId, newTableJob, type RemovalReason, type TableJob } from './createJobTable.ts'

type TestJob = TableJob & { state: JobState; startedAt: number | null; finishedAt: number | null; expiresAt: number; error: string | null; outputs: string[] }

const hour = 60 * 60_000
const afterFailure = 5 * 60_000

function setup() {
  const clock = manualClock(1_000_000)
  const released: Array<{ id: string; why: RemovalReason }> = []
  const table = createJobTable<TestJob>({
    lifecycle: (job) => job,
    statusOf: (job): JobStatus => ({
      jobId: job.id,
      status: job.state,
      position: job.state === 'queued' ? 1 : 0,
      submittedAt: 0,
      startedAt: job.startedAt,
      finishedAt: job.finishedAt,
      expiresAt: job.expiresAt,
      execution: null,
      resultRoot: null,
      outputFiles: [],
      worker: null,
      error: job.error,
    }),
    outputPaths: (job) => job.outputs,
    release: (job, why) => {
      released.push({ id: job.id, why })
    },
    retentionAfterFailureMs: afterFailure,
    clock,
    log: () => undefined,
  })
  const add = (clientId = 'client-a', outputs: string[] = []): TestJob => {
    const job: TestJob = { ...newTableJob({ clientId, captureBytes: 1024 }), state: 'queued', startedAt: null, finishedAt: null, expiresAt: clock.now() + hour, error: null, outputs }
    table.add(job)
    return job
  }
  return { clock, table, released, add }
}

describe('job table', () => {
  it('keeps a completed job until its expiry and a failed one 5 minutes after it failed, then it is gone', async () => {
    const { clock, table, released, add } = setup()
    const completed = add()
    const failed = add()
    table.start(completed)
    table.start(failed)
    table.finish(completed, 'completed')
    table.finish(failed, 'failed', 'exit 1')
    expect(table.find(failed.id).error).toBe('exit 1')
    await clock.advance(afterFailure)
    expect(() => table.find(failed.id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }))
    expect(table.find(completed.id).state).toBe('completed')
    await clock.advance(hour - afterFailure)
    expect(() => table.find(completed.id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }))
    expect(released).toEqual([
      { id: failed.id, why: 'expired' },
      { id: completed.id, why: 'expired' },
    ])
    expect(table.stats()).toMatchObject({ jobsTotal: 2, completedTotal: 1, failedTotal: 1, retainedJobs: 0 })
  })

  it('deletes a finished job once every output went out, not before', async () => {
    const { table, released, add } = setup()
    const job = add('client-a', ['a.txt', 'b.txt'])
    expect(() => table.requireFinished(job)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FINISHED' }))
    table.finish(job, 'completed')
    table.markDownloaded(job, ['a.txt'])
    expect(table.find(job.id)).toBe(job)
    table.markDownloaded(job, ['b.txt'])
    await expect.poll(() => released).toEqual([{ id: job.id, why: 'downloaded' }])
    expect(table.get(job.id)).toBeUndefined()
  })

  it('tells the watchers of a job deleted before it finished that it was cancelled, and gives its client the place back', async () => {
    const { table, add } = setup()
    const job = add('client-a')
    add('client-a')
    expect(table.stats().activeJobsOf('client-a')).toBe(2)
    table.start(job)
    const events: JobEvent[] = []
    const watch = table.watch(job, (event) => events.push(event))
    expect(watch.status.status).toBe('running')
    job.log.append('stdout', Buffer.from('partial\n'))
    await table.remove(job, 'deleted')
    expect(events.map((e) => (e.type === 'status' ? `${e.status.status}: ${e.status.error}` : e.type))).toEqual(['output', 'failed: The job was cancelled: its data was deleted.'])
    expect(table.stats().activeJobsOf('client-a')).toBe(1)
    expect(() => table.find(job.id)).toThrow(expect.objectContaining({ code: 'JOB_NOT_FOUND' }))
  })

  it('does not count a job it discarded (a post that failed) as submitted', async () => {
    const { table, add } = setup()
    const job = add('client-b')
    await table.discard(job)
    expect(table.stats()).toMatchObject({ jobsTotal: 0, retainedJobs: 0 })
    expect(table.stats().activeJobsOf('client-b')).toBe(0)
  })

  it('issues gateway job ids and looks jobs up only by one (tsc checks the @ts-expect-error lines)', () => {
    const { table, add } = setup()
    const job = add()
    expect(newJobId()).toMatch(/^job-[0-9a-f]{32}$/)
    expectTypeOf(newJobId).returns.toEqualTypeOf<GatewayJobId>()
    expectTypeOf<Parameters<JobBackend['status']>[0]>().toEqualTypeOf<GatewayJobId>()
    expectTypeOf<JobStatus['jobId']>().toEqualTypeOf<GatewayJobId>()
    // @ts-expect-error an id from a request must go through gatewayJobId() (requestJobId) first
    expect(() => table.find(String(job.id))).not.toThrow()
    // @ts-expect-error the on-chain id is not the gateway's (at run time it would not even be a string)
    expect(() => table.find(chainJobId(7n))).toThrow()
    expect(table.find(gatewayJobId(String(job.id)))).toBe(job)
  })
})
