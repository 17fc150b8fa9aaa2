// Liveness and wasted runs on the `sandrun dev` network: with N worker processes (3 as `npm start`,
// 12 for a larger network), every submitted job must complete, and each should be run by about
// 1.25 x its 3 slots instead of by every worker. Counts runs from the workers' own `job running` log
// lines. `node --import tsx bench/market/devNetwork.ts --workers 12 --jobs 20`
import '../../node/promiseWithResolvers.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { startDevNetwork } from '../../node/dev/startDevNetwork.ts'

const { values } = parseArgs({ options: { workers: { type: 'string' }, jobs: { type: 'string' }, parallel: { type: 'string' } } })
const workerCount = Number(values.workers ?? 3)
const jobCount = Number(values.jobs ?? 20)
const parallel = Number(values.parallel ?? 4)

const dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-bench-dev-'))
const runs = new Map<string, number>()
const network = await startDevNetwork({
  workers: workerCount,
  dataDir,
  port: 0,
  host: '127.0.0.1',
  gatewayArgs: ['--concurrent-jobs', '1000', '--jobs-per-hour', '100000', '--cpu-seconds-per-minute', '100000'],
  onProgress: (message) => console.error(`bench: ${message}`),
  onLog: (_name, line) => {
    const entry = JSON.parse(line) as { message?: string; jobId?: string }
    if (entry.message === 'job running' && entry.jobId) runs.set(entry.jobId, (runs.get(entry.jobId) ?? 0) + 1)
  },
})

type Done = { ms: number; status: string; chainJobId: string | null; escalated: boolean }

async function runJob(i: number): Promise<Done> {
  const started = performance.now()
  const form = new FormData()
  form.append('files', new Blob([await packFiles({ 'main.py': `print("dev network job ${i}")\n` })]), 'job.tar.gz')
  form.append('manifest', JSON.stringify({ entrypoint: 'main.py' }))
  const submitted = (await (await fetch(`${network.gatewayUrl}/submit`, { method: 'POST', body: form })).json()) as { job_id: string }
  for (;;) {
    const status = (await (await fetch(`${network.gatewayUrl}/status/${submitted.job_id}?wait=30`)).json()) as {
      status: string
      verification?: { job_id: string | null; committed: number; replicas: number }
    }
    if (status.status === 'completed' || status.status === 'failed') {
      const v = status.verification
      return { ms: performance.now() - started, status: status.status, chainJobId: v?.job_id ?? null, escalated: (v?.committed ?? 0) > (v?.replicas ?? 0) }
    }
  }
}

try {
  const done: Done[] = []
  let next = 0
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < jobCount) {
        const i = next++
        done.push(await runJob(i))
        console.error(`bench: ${done.length}/${jobCount} jobs done`)
      }
    }),
  )
  const completed = done.filter((d) => d.status === 'completed').length
  const perJob = done.map((d) => runs.get(d.chainJobId ?? '') ?? 0)
  const sorted = done.map((d) => d.ms).sort((a, b) => a - b)
  const p50 = sorted[Math.floor(sorted.length / 2)]!
  console.log(`| ${workerCount} | ${jobCount} | ${completed}/${jobCount} | ${(perJob.reduce((a, b) => a + b, 0) / perJob.length).toFixed(2)} (max ${Math.max(...perJob)}) | ${done.filter((d) => d.escalated).length} | ${(p50 / 1000).toFixed(1)} s |`)
} finally {
  await network.stop()
  await rm(dataDir, { recursive: true, force: true })
}
