// The retention rule every mode follows, played on a hand-moved clock: a job whose outputs were all
// downloaded goes at once, a failed one 5 minutes after it failed, any other 1 hour after submission.
import { expect } from 'vitest'
import type { ManualClock } from './manualClock.ts'

export type LetRetentionPassParameters = {
  clock: ManualClock
  /** GET /status/:id's HTTP status. */
  statusCode(jobId: string): Promise<number>
  /** GET /download/:id/out.txt's body. */
  download(jobId: string): Promise<string>
  /** Finished jobs (completed, failed, completed), each with the marker its out.txt holds. */
  downloaded: { jobId: string; marker: string }
  failed: string
  kept: string
}

export async function letRetentionPass({ clock, statusCode, download, downloaded, failed, kept }: LetRetentionPassParameters): Promise<void> {
  expect(await download(downloaded.jobId)).toBe(`${downloaded.marker}\n`)
  await expect.poll(() => statusCode(downloaded.jobId)).toBe(404)
  await clock.advance(5 * 60_000 + 1)
  expect(await statusCode(failed)).toBe(404)
  expect(await statusCode(kept)).toBe(200)
  await clock.advance(55 * 60_000)
  expect(await statusCode(kept)).toBe(404)
}
