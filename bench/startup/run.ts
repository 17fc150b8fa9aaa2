// Start-up and memory of the dev network (`npm start` = `sandrun dev`): seconds from the command to
// its ready line, then the resident memory (VmRSS) of the gateway and each worker process after 50
// jobs, the wall time of those jobs and the CPU seconds the gateway and the workers spent on them
// (what the nodes' memory settings could cost). Measured in one run for the previous build (its
// dist/bin/sandrun: `git worktree add /tmp/prev main && (cd /tmp/prev && npm run build)`), this
// tree's build (dist/bin/sandrun, `npm run build` first), and this tree's build with Node's own
// memory settings (SANDRUN_NODE_MEMORY=default, see node/dev/spawnNode.ts), so every figure has a
// ratio to the previous build beside it. Two jobs in flight. Prints a table.
// Run: node --import tsx bench/startup/run.ts [--previous /tmp/prev/dist/bin/sandrun] [--jobs 50] [--try NAME=VALUE ...]
// `--try` adds a variant of this tree's build with that environment variable set (e.g. MALLOC_ARENA_MAX=2).
import '../../node/promiseWithResolvers.ts'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { createSandrunClient } from '../../node/client/index.ts'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'

const { values } = parseArgs({ options: { previous: { type: 'string' }, jobs: { type: 'string' }, try: { type: 'string', multiple: true } } })
const root = path.resolve(import.meta.dirname, '../..')
const jobs = Number(values.jobs ?? 50)
type Variant = { name: string; bin: string; jobs: number; env?: Record<string, string> }
const variants: Variant[] = [
  { name: `previous build (dist/), ${jobs} jobs`, bin: values.previous ?? '/work/main/dist/bin/sandrun', jobs },
  { name: `this tree, built dist/, ${jobs} jobs`, bin: path.join(root, 'dist/bin/sandrun'), jobs },
  { name: `this tree, built dist/, Node's memory defaults, ${jobs} jobs`, bin: path.join(root, 'dist/bin/sandrun'), jobs, env: { SANDRUN_NODE_MEMORY: 'default' } },
  ...(values.try ?? []).map((setting) => {
    const at = setting.indexOf('=')
    const env = at < 0 ? { [setting]: '' } : { [setting.slice(0, at)]: setting.slice(at + 1) }
    return { name: `this tree, built dist/, ${setting}, ${jobs} jobs`, bin: path.join(root, 'dist/bin/sandrun'), jobs, env }
  }),
].filter((v) => existsSync(v.bin))

/** Every process whose command line contains `needle`, below `parent`. */
function children(parent: number, needle: string): number[] {
  const found: number[] = []
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === parent && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) found.push(Number(pid))
    } catch {
      // gone meanwhile
    }
  }
  return found
}

/** VmRSS of a process, MiB. */
function rssMiB(pid: number): number {
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return rss ? Number(rss[1]) / 1024 : NaN
}

/** User + system CPU seconds a process has used so far. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

type Result = { name: string; readySeconds: number; gatewayMiB: number; workerMiB: number[]; jobSeconds: number; gatewayCpu: number; workerCpu: number }

async function measure(variant: Variant): Promise<Result> {
  const { jobs } = variant
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-bench-startup-'))
  const started = performance.now()
  const child = spawn(process.execPath, [variant.bin, 'dev', '--port', '0', '--workers', '3', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...variant.env } })
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`  [${variant.name}] ${line}\n`))
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('sandrun dev ready') && resolve(line))
    child.once('exit', (code) => reject(new Error(`${variant.name}: exited ${code} before ready`)))
  })
  const readySeconds = (performance.now() - started) / 1000
  const url = /url=(\S+)/.exec(ready)![1]!
  const client = createSandrunClient({ baseUrl: url })
  const bundle = await packFiles({ 'main.py': 'import json\nprint(json.dumps({"n": sum(range(10000))}))\nopen("out.txt", "w").write("x" * 1000)\n' })
  const gateway = children(child.pid!, 'gateway')[0]!
  const workers = children(child.pid!, 'worker')
  const cpuAtReady = { gateway: cpuSeconds(gateway), workers: workers.reduce((sum, pid) => sum + cpuSeconds(pid), 0) }
  const jobsStarted = performance.now()
  let done = 0
  const runOne = async (): Promise<void> => {
    while (done < jobs) {
      done++
      const { job_id: jobId } = await client.submit({ bundle, manifest: { entrypoint: 'main.py' } })
      await client.wait(jobId)
      await client.download(jobId, 'out.txt').catch(() => undefined)
    }
  }
  await Promise.all(Array.from({ length: 2 }, runOne))
  process.stderr.write(`  [${variant.name}] ${jobs} jobs done\n`)
  const jobSeconds = (performance.now() - jobsStarted) / 1000
  const gatewayMiB = rssMiB(gateway)
  const workerMiB = workers.map(rssMiB)
  const gatewayCpu = cpuSeconds(gateway) - cpuAtReady.gateway
  const workerCpu = workers.reduce((sum, pid) => sum + cpuSeconds(pid), 0) - cpuAtReady.workers
  child.kill('SIGINT')
  await new Promise((resolve) => child.once('exit', resolve))
  await rm(dataDir, { recursive: true, force: true })
  return { name: variant.name, readySeconds, gatewayMiB, workerMiB, jobSeconds, gatewayCpu, workerCpu }
}

const results: Result[] = []
for (const variant of variants) results.push(await measure(variant))
const base = results[0]!
const ratio = (value: number, of: number): string => `${(value / of).toFixed(2)}x`
const maxWorker = (r: Result): number => Math.max(...r.workerMiB)
console.log('| variant | ready (s) | vs previous | gateway RSS after the jobs (MiB) | vs previous | largest worker RSS (MiB) | vs previous | jobs (s) | vs previous | CPU s gateway / workers (sum) during the jobs | vs previous |')
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |')
for (const r of results) {
  const cpu = `${r.gatewayCpu.toFixed(1)} / ${r.workerCpu.toFixed(1)}`
  const cpuRatio = `${ratio(r.gatewayCpu, base.gatewayCpu)} / ${ratio(r.workerCpu, base.workerCpu)}`
  console.log(`| ${r.name} | ${r.readySeconds.toFixed(1)} | ${ratio(r.readySeconds, base.readySeconds)} | ${r.gatewayMiB.toFixed(0)} | ${ratio(r.gatewayMiB, base.gatewayMiB)} | ${maxWorker(r).toFixed(0)} (all: ${r.workerMiB.map((m) => m.toFixed(0)).join(', ')}) | ${ratio(maxWorker(r), maxWorker(base))} | ${r.jobSeconds.toFixed(0)} | ${ratio(r.jobSeconds, base.jobSeconds)} | ${cpu} | ${cpuRatio} |`)
}
