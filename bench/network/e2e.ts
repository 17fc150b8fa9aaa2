// End-to-end market benchmark on the `sandrun dev` network (anvil automine, or a block every
// --block-time seconds; gateway and 3 worker processes): submit -> verified latency of a trivial
// 3-replica job, p50/p99 over --jobs sequential jobs (50), and on timed blocks also the blocks from
// the one in which the job's last run ended (its last worker's 'result sealed') to the one in which
// the gateway reported it verified; then jobs/s with 20 in flight (skipped with --no-throughput).
// Prints only. Run: node --import tsx bench/network/e2e.ts [--block-time 2] [--jobs 50]
import '../../node/promiseWithResolvers.ts'
import { parseArgs } from 'node:util'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { startDevNetwork } from '../../node/dev/startDevNetwork.ts'

const { values } = parseArgs({ options: { 'block-time': { type: 'string' }, jobs: { type: 'string' }, 'no-throughput': { type: 'boolean' } } })
const blockTime = values['block-time'] ? Number(values['block-time']) : undefined
const sequentialJobs = Number(values.jobs ?? 50)
const inFlight = 20
const throughputJobs = 60

const dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-bench-e2e-'))
const network = await startDevNetwork({
  workers: 3,
  dataDir,
  port: 0,
  host: '127.0.0.1',
  gatewayArgs: ['--concurrent-jobs', '1000', '--jobs-per-hour', '100000', '--cpu-seconds-per-minute', '100000'],
  ...(blockTime ? { blockTime } : {}),
  onProgress: (message) => console.error(`bench: ${message}`),
  onLog: (_name, line) => {
    if (!line.includes('"result sealed"')) return
    const { jobId } = JSON.parse(line) as { jobId: string }
    // The block the run ended in: the latest one when the worker said so.
    void blockNumber().then((block) => sealedAt.set(jobId, Math.max(sealedAt.get(jobId) ?? 0, block)))
  },
})
const sealedAt = new Map<string, number>()
async function blockNumber(): Promise<number> {
  const response = await fetch(network.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_blockNumber', params: [] }) })
  return Number(((await response.json()) as { result: string }).result)
}
const blocksAfterRun: number[] = []
const bundle = await packFiles({ 'main.py': 'print("bench")\n' })

async function submitAndVerify(): Promise<number> {
  const started = performance.now()
  const form = new FormData()
  form.append('files', new Blob([bundle]), 'job.tar.gz')
  form.append('manifest', JSON.stringify({ entrypoint: 'main.py' }))
  const submitted = (await (await fetch(`${network.gatewayUrl}/submit`, { method: 'POST', body: form })).json()) as { job_id: string }
  for (;;) {
    const status = (await (await fetch(`${network.gatewayUrl}/status/${submitted.job_id}?wait=30`)).json()) as { status: string; verification?: { result_verified: boolean; job_id: string | null } }
    if (status.status === 'completed' && status.verification?.result_verified) {
      const elapsed = performance.now() - started
      const sealed = sealedAt.get(status.verification.job_id ?? '')
      if (sealed !== undefined) blocksAfterRun.push((await blockNumber()) - sealed)
      return elapsed
    }
    if (status.status === 'failed') throw new Error(`bench job failed: ${JSON.stringify(status)}`)
  }
}

const percentile = (sorted: number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!

try {
  await submitAndVerify() // warm-up: first sandbox start, first connections
  const latencies: number[] = []
  for (let i = 0; i < sequentialJobs; i++) latencies.push(await submitAndVerify())
  latencies.sort((a, b) => a - b)
  const chain = blockTime ? `a block every ${blockTime} s` : 'automine'
  console.log(`submit -> verified, 3 replicas, ${sequentialJobs} jobs, ${chain}: p50 ${percentile(latencies, 50).toFixed(0)} ms, p99 ${percentile(latencies, 99).toFixed(0)} ms`)
  if (blockTime) {
    const blocks = blocksAfterRun.slice(1).sort((a, b) => a - b) // the warm-up job aside
    console.log(`blocks from the block the last run ended in to the one the gateway reported verified (${blocks.length} jobs): p50 ${percentile(blocks, 50)}, p99 ${percentile(blocks, 99)}, max ${blocks.at(-1)}`)
  }
  if (!values['no-throughput']) {
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
  }
} finally {
  await network.stop()
  await rm(dataDir, { recursive: true, force: true })
}
