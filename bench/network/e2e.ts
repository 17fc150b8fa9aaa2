// End-to-end market benchmark on the `sandrun dev` network (anvil automine, gateway and 3 worker
// processes): submit -> verified latency of a trivial 3-replica job, p50/p99 over 50 sequential
// jobs, then jobs/s with 20 in flight. Prints only. Run: node --import tsx bench/network/e2e.ts
import '../../node/promiseWithResolvers.ts'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { startDevNetwork } from '../../node/dev/startDevNetwork.ts'

const sequentialJobs = 50
const inFlight = 20
const throughputJobs = 60

const dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-bench-e2e-'))
const network = await startDevNetwork({
  workers: 3,
  dataDir,
  port: 0,
  host: '127.0.0.1',
  gatewayArgs: ['--concurrent-jobs', '1000', '--jobs-per-hour', '100000', '--cpu-seconds-per-minute', '100000'],
  onProgress: (message) => console.error(`bench: ${message}`),
})
const bundle = await packFiles({ 'main.py': 'print("bench")\n' })

async function submitAndVerify(): Promise<number> {
  const started = performance.now()
  const form = new FormData()
  form.append('files', new Blob([bundle]), 'job.tar.gz')
  form.append('manifest', JSON.stringify({ entrypoint: 'main.py' }))
  const submitted = (await (await fetch(`${network.gatewayUrl}/submit`, { method: 'POST', body: form })).json()) as { job_id: string }
  for (;;) {
    const status = (await (await fetch(`${network.gatewayUrl}/status/${submitted.job_id}?wait=30`)).json()) as { status: string; verification?: { result_verified: boolean } }
    if (status.status === 'completed' && status.verification?.result_verified) return performance.now() - started
    if (status.status === 'failed') throw new Error(`bench job failed: ${JSON.stringify(status)}`)
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

try {
  await submitAndVerify() // warm-up: first sandbox start, first connections
  const latencies: number[] = []
  for (let i = 0; i < sequentialJobs; i++) latencies.push(await submitAndVerify())
  latencies.sort((a, b) => a - b)
  console.log(`submit -> verified, 3 replicas, ${sequentialJobs} jobs: p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`)

  let next = 0
  const started = performance.now()
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < throughputJobs) {
        next++
        await submitAndVerify()
      }
    }),
  )
  const seconds = (performance.now() - started) / 1000
  console.log(`throughput, ${inFlight} in flight: ${(throughputJobs / seconds).toFixed(2)} jobs/s (${throughputJobs} jobs in ${seconds.toFixed(1)} s)`)
} finally {
  await network.stop()
  await rm(dataDir, { recursive: true, force: true })
}
