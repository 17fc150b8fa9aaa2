// API benchmark (not a test): starts `sandrun serve` as a child process and measures
// submit -> completed latency (p50/p99, sequential) for a trivial bash and python job, throughput
// (jobs/s) at concurrency 1, 8 and 32, and the gateway's RSS. Prints a Markdown table for
// docs/BENCHMARKS.md.  Usage: node --import tsx bench/api/run.ts [--jobs N] [--parallelism N]
import '../../node/promiseWithResolvers.ts'
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { createSandrunClient, type SandrunClient } from '../../node/client/sandrunClient.ts'

const { values } = parseArgs({ options: { jobs: { type: 'string' }, parallelism: { type: 'string' } } })
const sequentialJobs = Number(values.jobs ?? 200)
// Throughput runs are long enough (~5 s each) for the gateway's JIT to be warm and the noise of
// a shared 2-core VM to average out; 300-job runs varied by +-20%.
const throughputJobs = Number(values.jobs ?? 1000)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

function rssOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kib = (key: string): number => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0) * 1024
  return { rss: kib('VmRSS'), peak: kib('VmHWM') }
}

function statFields(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
}

/**
 * CPU seconds of the gateway process itself, and of the sandboxes: its reaped children plus its
 * live child processes (the spawner, which starts the jobs) and their reaped children.
 */
function cpuOf(pid: number): { self: number; children: number } {
  const fields = statFields(pid)
  const tick = (f: string[], i: number): number => Number(f[i - 3]) / 100
  let children = tick(fields, 16) + tick(fields, 17)
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let child: string[]
    try {
      child = statFields(entry)
    } catch {
      continue // exited meanwhile
    }
    if (Number(child[1]) === pid) children += tick(child, 14) + tick(child, 15) + tick(child, 16) + tick(child, 17)
  }
  return { self: tick(fields, 14) + tick(fields, 15), children }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

async function runJob(client: SandrunClient, bundle: Buffer, manifest: Record<string, unknown>): Promise<void> {
  const { job_id } = await client.submit({ bundle, manifest })
  let status = await client.status(job_id, { waitSeconds: 60 })
  while (status.status !== 'completed' && status.status !== 'failed') status = await client.status(job_id, { waitSeconds: 60 })
  if (status.status !== 'completed') throw new Error(`benchmark job failed: ${status.error ?? status.execution_metadata?.termination}`)
}

async function latency(client: SandrunClient, bundle: Buffer, manifest: Record<string, unknown>, n: number): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 5; i++) await runJob(client, bundle, manifest) // warm-up
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await runJob(client, bundle, manifest)
    samples.push(performance.now() - start)
  }
  samples.sort((a, b) => a - b)
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) }
}

async function throughput(client: SandrunClient, bundle: Buffer, manifest: Record<string, unknown>, concurrency: number, n: number): Promise<number> {
  let next = 0
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++
        await runJob(client, bundle, manifest)
      }
    }),
  )
  return n / ((performance.now() - start) / 1000)
}

const port = await freePort()
const dataDir = mkdtempSync('/dev/shm/sandrun-bench-')
const args = ['bin/sandrun', 'serve', '--port', String(port), '--data-dir', dataDir, '--cpu-seconds-per-minute', '1000000', '--concurrent-jobs', '100000', '--jobs-per-hour', '100000000']
if (values.parallelism) args.push('--parallelism', values.parallelism)
const server = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
await new Promise<void>((resolve, reject) => {
  server.stderr.on('data', (chunk: Buffer) => chunk.toString().includes('listening') && resolve())
  server.once('exit', (code) => reject(new Error(`sandrun serve exited with ${code}`)))
})

try {
  const client = createSandrunClient({ baseUrl: `http://127.0.0.1:${port}` })
  const bash = { bundle: await packFiles({ 'main.sh': 'echo hello' }), manifest: { entrypoint: 'main.sh' } }
  const python = { bundle: await packFiles({ 'main.py': 'print("hello")' }), manifest: { entrypoint: 'main.py' } }
  const rssIdle = rssOf(server.pid!)
  const bashLatency = await latency(client, bash.bundle, bash.manifest, sequentialJobs)
  const pythonLatency = await latency(client, python.bundle, python.manifest, Math.ceil(sequentialJobs / 2))
  const rates: Record<number, number> = {}
  const cpuBefore = cpuOf(server.pid!)
  for (const c of [1, 8, 32]) rates[c] = await throughput(client, bash.bundle, bash.manifest, c, throughputJobs)
  const cpuAfter = cpuOf(server.pid!)
  const perJob = (k: 'self' | 'children'): string => (((cpuAfter[k] - cpuBefore[k]) / (3 * throughputJobs)) * 1000).toFixed(1)
  const rssEnd = rssOf(server.pid!)
  const mib = (b: number): string => (b / 1024 / 1024).toFixed(0)
  const rows = [
    ['bash job, submit -> completed, p50 / p99 (sequential)', `${bashLatency.p50.toFixed(1)} ms / ${bashLatency.p99.toFixed(1)} ms`],
    ['python job, submit -> completed, p50 / p99 (sequential)', `${pythonLatency.p50.toFixed(1)} ms / ${pythonLatency.p99.toFixed(1)} ms`],
    ...[1, 8, 32].map((c) => [`throughput, bash job, concurrency ${c}`, `${rates[c]!.toFixed(1)} jobs/s`]),
    ['CPU per bash job: gateway process / sandbox processes', `${perJob('self')} ms / ${perJob('children')} ms`],
    ['gateway RSS idle / after / peak', `${mib(rssIdle.rss)} / ${mib(rssEnd.rss)} / ${mib(rssEnd.peak)} MiB`],
  ]
  process.stdout.write(
    [
      `API benchmark — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, parallelism ${values.parallelism ?? 'default (cores)'}`,
      `${sequentialJobs} sequential bash jobs, ${Math.ceil(sequentialJobs / 2)} python, ${throughputJobs} jobs per throughput run`,
      '',
      '| measure | result |',
      '| --- | --- |',
      ...rows.map(([k, v]) => `| ${k} | ${v} |`),
      '',
    ].join('\n'),
  )
} finally {
  server.kill('SIGTERM')
  await new Promise((resolve) => server.once('exit', resolve))
  rmSync(dataDir, { recursive: true, force: true })
}
