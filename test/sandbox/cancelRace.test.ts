// Cancelling jobs the moment they start must kill those jobs only: the helper process that starts
// job processes passes through each job's cgroup while it forks, and must survive a cancel that
// lands right then, so the next job still runs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'

let runner: JobRunner

beforeAll(async () => {
  runner = await createJobRunner()
})
afterAll(async () => {
  await runner?.close()
})

describe('cancel at start', () => {
  it('cancels 60 jobs around their start, then runs the next one normally', async () => {
    const cancelled: string[] = []
    // Cancel at staggered moments around the start (0-3 ms after it is requested), 4 at a time.
    for (let batch = 0; batch < 15; batch++) {
      const terminations = await Promise.all(
        Array.from({ length: 4 }, async (_, i) => {
          const abort = new AbortController()
          const run = runner.run({
            files: { 'job.sh': 'sleep 5\n' },
            signal: abort.signal,
            onStart: () => void setTimeout(() => abort.abort(), (batch + i) % 4),
          })
          return (await run).termination
        }),
      )
      cancelled.push(...terminations)
    }
    expect(new Set(cancelled)).toEqual(new Set(['cancelled']))
    const after = await runner.run({ files: { 'job.sh': 'echo still here\n' } })
    expect(after.exitCode).toBe(0)
    expect(after.out).toBe('still here\n')
  })
})
