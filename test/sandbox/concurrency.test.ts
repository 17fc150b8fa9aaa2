// Twenty jobs in one sandbox at once: each must see only its own /work, /tmp and processes, and
// every result (output, files) must belong to the job that produced it.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'
import { pythonJob } from './pythonJob.ts'

let runner: JobRunner

beforeAll(async () => {
  runner = await createJobRunner()
})

afterAll(async () => {
  await runner?.close()
})

type JobReport = { token: string; work: string[]; tmp: string[]; pids: string[]; content: string }

it('runs 20 jobs at once, each isolated from the others', async () => {
  const tokens = Array.from({ length: 20 }, () => randomBytes(8).toString('hex'))
  const results = await Promise.all(
    tokens.map((token) =>
      runner.run({
        files: pythonJob(`
import time
token = ${JSON.stringify(token)}
open('/work/%s.txt' % token, 'w').write(token)
open('/tmp/%s' % token, 'w').write(token)
time.sleep(0.5)  # stay alive while the other jobs write theirs
report(token=token, work=sorted(os.listdir('/work')), tmp=sorted(os.listdir('/tmp')),
       pids=sorted(p for p in os.listdir('/proc') if p.isdigit()), content=open('/work/%s.txt' % token).read())`),
        manifest: { timeout: 30, memory_mb: 64 },
      }),
    ),
  )

  results.forEach((result, index) => {
    const token = tokens[index]!
    expect(result.termination).toBe('exited')
    expect(result.exitCode).toBe(0)
    const report = result.report<JobReport>()
    expect(report).toEqual({
      token,
      work: [`${token}.txt`, 'main.py'].sort(),
      tmp: [token],
      pids: ['1', '2'],
      content: token,
    })
    for (const other of tokens) if (other !== token) expect(result.out).not.toContain(other)
    expect(result.outputs.map((o) => o.path)).toEqual([`${token}.txt`])
    expect(readFileSync(result.outputs[0]!.hostPath, 'utf8')).toBe(token)
  })
})
