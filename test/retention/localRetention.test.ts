// Local mode keeps job data on a tmpfs data directory only, and deletes it by the retention rules:
// at once when every output was downloaded, 5 minutes after a failure, 1 hour at most. The clock is
// moved by hand; then nothing of any job is left in the data directory.
import { statfs } from 'node:fs/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobSubmission, startTestGateway } from '../gateway/testGateway.ts'
import { letRetentionPass } from './letRetentionPass.ts'
import { manualClock, type ManualClock } from './manualClock.ts'
import { markerJob, type MarkerJob } from './markerJob.ts'
import { scanFiles } from './scanFiles.ts'

type Gateway = Awaited<ReturnType<typeof startTestGateway>>
const tmpfsMagic = 0x01021994

let clock: ManualClock
let gateway: Gateway

beforeAll(async () => {
  clock = manualClock()
  gateway = await startTestGateway({ clock })
})
afterAll(async () => gateway?.close())

async function run(job: MarkerJob): Promise<{ jobId: string; status: Record<string, unknown> }> {
  const { body, contentType } = await jobSubmission(job.files, job.manifest)
  const accepted = await gateway.app.inject({ method: 'POST', url: '/submit', payload: body, headers: { 'content-type': contentType } })
  expect(accepted.statusCode).toBe(200)
  const jobId = accepted.json().job_id as string
  const status = (await gateway.app.inject({ url: `/status/${jobId}?wait=60` })).json() as Record<string, unknown>
  return { jobId, status }
}

const statusCode = async (jobId: string): Promise<number> => (await gateway.app.inject({ url: `/status/${jobId}` })).statusCode

describe('local mode retention', () => {
  it('keeps job data on tmpfs only, and after retention the data directory holds nothing of any job', async () => {
    expect((await statfs(gateway.dataDir)).type).toBe(tmpfsMagic)
    const [downloaded, failed, kept] = [markerJob(), markerJob({ exitCode: 3 }), markerJob()]
    const a = await run(downloaded)
    const b = await run(failed)
    const c = await run(kept)
    expect([a.status.status, b.status.status, c.status.status]).toEqual(['completed', 'failed', 'completed'])
    // The copies of the outputs are in the data directory, which is RAM.
    expect((await scanFiles([gateway.dataDir], kept.marker)).containing).toHaveLength(1)

    await letRetentionPass({
      clock,
      statusCode,
      download: async (jobId) => (await gateway.app.inject({ url: `/download/${jobId}/out.txt` })).body,
      downloaded: { jobId: a.jobId, marker: downloaded.marker },
      failed: b.jobId,
      kept: c.jobId,
    })

    const left = await scanFiles([gateway.dataDir], downloaded.marker)
    expect(left.files).toEqual(['worker-key.json'])
    for (const job of [downloaded, failed, kept]) expect((await scanFiles([gateway.dataDir], job.marker)).containing).toEqual([])
  })
})
