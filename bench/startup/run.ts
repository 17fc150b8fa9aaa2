// Start-up and memory of the dev network (`npm start` = `sandrun dev`): seconds from the command to
// its ready line, then the resident memory (VmRSS) of the gateway and each worker process after 50
// jobs. Measured in one run for the previous build (the main checkout's bin/sandrun, through tsx),
// this tree's build (dist/bin/sandrun, `npm run build` first) and this tree through tsx
// (bin/sandrun), so every figure has a ratio to the previous build beside it. The previous build's
// dev gateway allows 20 jobs an hour per IP (the limit this change relaxes), so the comparison rows
// run 20 jobs; the target rows run 50. Two jobs in flight (its concurrency limit). Prints a table.
// Run: node --import tsx bench/startup/run.ts [--previous /work/main/bin/sandrun]
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

const { values } = parseArgs({ options: { previous: { type: 'string' } } })
const root = path.resolve(import.meta.dirname, '../..')
const variants = [
  { name: 'previous build (main, tsx), 20 jobs', bin: values.previous ?? '/work/main/bin/sandrun', jobs: 20 },
  { name: 'this tree, built dist/, 20 jobs', bin: path.join(root, 'dist/bin/sandrun'), jobs: 20 },
  { name: 'this tree, built dist/, 50 jobs', bin: path.join(root, 'dist/bin/sandrun'), jobs: 50 },
  { name: 'this tree, tsx, 50 jobs', bin: path.join(root, 'bin/sandrun'), jobs: 50 },
].filter((v) => existsSync(v.bin))

/** VmRSS (MiB) of every process whose command line contains `needle`, below `parent`. */
function rssOfChildren(parent: number, needle: string): number[] {
  const found: number[] = []
  for (const pid of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid !== parent || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle)) continue
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
      if (rss) found.push(Number(rss[1]) / 1024)
    } catch {
      // gone meanwhile
    }
  }
  return found
}

type Result = { name: string; readySeconds: number; gatewayMiB: number; workerMiB: number[] }

async function measure(variant: { name: string; bin: string; jobs: number }): Promise<Result> {
  const { jobs } = variant
  const dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-bench-startup-'))
  const started = performance.now()
  const child = spawn(process.execPath, [variant.bin, 'dev', '--port', '0', '--workers', '3', '--data-dir', dataDir], { stdio: ['ignore', 'pipe', 'pipe'] })
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`  [${variant.name}] ${line}\n`))
  const ready = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line.startsWith('sandrun dev ready') && resolve(line))
    child.once('exit', (code) => reject(new Error(`${variant.name}: exited ${code} before ready`)))
  })
  const readySeconds = (performance.now() - started) / 1000
  const url = /url=(\S+)/.exec(ready)![1]!
  const client = createSandrunClient({ baseUrl: url })
  const bundle = await packFiles({ 'main.py': 'import json\nprint(json.dumps({"n": sum(range(10000))}))\nopen("out.txt", "w").write("x" * 1000)\n' })
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
  const gatewayMiB = rssOfChildren(child.pid!, 'gateway')[0] ?? NaN
  const workerMiB = rssOfChildren(child.pid!, 'worker')
  child.kill('SIGINT')
  await new Promise((resolve) => child.once('exit', resolve))
  await rm(dataDir, { recursive: true, force: true })
  return { name: variant.name, readySeconds, gatewayMiB, workerMiB }
}

const results: Result[] = []
for (const variant of variants) results.push(await measure(variant))
const base = results[0]!
const ratio = (value: number, of: number): string => `${(value / of).toFixed(2)}x`
const maxWorker = (r: Result): number => Math.max(...r.workerMiB)
console.log('| variant | ready (s) | vs previous | gateway RSS after the jobs (MiB) | vs previous | largest worker RSS (MiB) | vs previous |')
console.log('| --- | --- | --- | --- | --- | --- | --- |')
for (const r of results) {
  console.log(`| ${r.name} | ${r.readySeconds.toFixed(1)} | ${ratio(r.readySeconds, base.readySeconds)} | ${r.gatewayMiB.toFixed(0)} | ${ratio(r.gatewayMiB, base.gatewayMiB)} | ${maxWorker(r).toFixed(0)} (all: ${r.workerMiB.map((m) => m.toFixed(0)).join(', ')}) | ${ratio(maxWorker(r), maxWorker(base))} |`)
}
