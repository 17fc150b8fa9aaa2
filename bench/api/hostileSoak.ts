// Soak benchmark of issue 13 (not a test): one `sandrun serve` with its default settings, honest
// clients running small jobs throughout, first alone (the quiet baseline) and then next to hostile
// ones: 20,000 WebSocket viewers that never read (wsFlood.ts), never-read log reads, endless
// uploads, bundle bombs, and jobs that flood output, hold the CPU, exhaust inodes (hostileActors.ts),
// each in a process of its own so the honest clients measure the service, not the load generators. Reports the honest clients' latency (p50/p99, quiet vs hostile), the service's
// peak RSS and event-loop delay, the hostile requests refused, and whether the service survived.
// Prints a Markdown table for docs/BENCHMARKS.md.
// Usage: node --import tsx bench/api/hostileSoak.ts [--minutes 10] [--quiet-seconds 60] [--flood 20000] [--cpu-prof-dir DIR] [--trace-gc FILE] [--attackers-nice N] [--kernel-conn-limit N[/BURST]] [--honest-keep-alive] [--service-own-session] [--attackers-idle] [--node-flags="FLAGS"]
// `--cpu-prof-dir` writes a V8 CPU profile of the service (Node's --cpu-prof) there when it stops;
// `--trace-gc` writes the service's garbage collections (Node's --trace-gc) to FILE.
// `--attackers-nice N` runs the hostile load generators at that nice level: on a public service the
// attackers' own work runs on their machines, while here it shares the service's cores (the
// hostile jobs, run by the service, keep its priority).
// `--kernel-conn-limit N[/BURST]` puts the operator's kernel rule in front of the service for the
// whole run (scripts/limit-new-connections.sh: at most N new connections a second per address, in
// bursts of BURST, default 20; needs root and nftables), and removes it at the end.
// `--honest-keep-alive`: each honest client keeps one connection for a job's requests (submit, the
// long poll, logs, output), as Node's fetch or a browser does, instead of a new one per request.
// `--service-own-session` starts the service in a session of its own, as a supervisor (systemd)
// runs it: with the kernel's autogroups (sched_autogroup_enabled) the processes of one session share
// one CPU weight, so without it the service shares its weight with this script and the load
// generators, while its jobs' cgroup weighs a quarter of a whole process.
// `--attackers-idle` runs the hostile load generators in a CPU cgroup of their own marked idle
// (`cpu.idle`, Linux 5.15; else the lowest weight): they get only the CPU that the service, its jobs
// and the honest clients leave, as they would on machines of their own. `--attackers-nice` cannot
// do that where the kernel schedules by autogroup: a niced process's autogroup still weighs as much
// as a whole process against the jobs' cgroup.
import '../../node/promiseWithResolvers.ts'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import http from 'node:http'
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { multipart, percentile, request, Tally } from './soakClient.ts'

const { values } = parseArgs({ options: { minutes: { type: 'string' }, 'quiet-seconds': { type: 'string' }, flood: { type: 'string' }, 'cpu-prof-dir': { type: 'string' }, 'trace-gc': { type: 'string' }, 'attackers-nice': { type: 'string' }, 'kernel-conn-limit': { type: 'string' }, 'honest-keep-alive': { type: 'boolean' }, 'service-own-session': { type: 'boolean' }, 'attackers-idle': { type: 'boolean' }, 'node-flags': { type: 'string' } } })
const attackersNice = Number(values['attackers-nice'] ?? 0)
let attackersCgroupKind = ''
/**
 * A CPU cgroup (v1 `cpu` hierarchy, or v2 with the cpu controller) whose processes run only when
 * nothing else wants the core: `cpu.idle` 1, or the lowest weight where the kernel lacks it.
 */
function idleCpuCgroup(name: string): string {
  const v1 = '/sys/fs/cgroup/cpu'
  const dir = existsSync(path.join(v1, 'cpu.shares')) ? path.join(v1, name) : path.join('/sys/fs/cgroup', name)
  mkdirSync(dir)
  if (existsSync(path.join(dir, 'cpu.idle'))) {
    writeFileSync(path.join(dir, 'cpu.idle'), '1')
    attackersCgroupKind = 'cpu.idle'
  } else if (existsSync(path.join(dir, 'cpu.shares'))) {
    writeFileSync(path.join(dir, 'cpu.shares'), '2')
    attackersCgroupKind = 'cpu.shares 2'
  } else {
    writeFileSync(path.join(dir, 'cpu.weight'), '1')
    attackersCgroupKind = 'cpu.weight 1'
  }
  return dir
}
const attackersCgroup = values['attackers-idle'] ? idleCpuCgroup(`sandrun-soak-attackers-${process.pid}`) : undefined
/** A load generator's command, at the attackers' nice level, started inside their cgroup when they have one. */
const attacker = (command: string[]): [string, string[]] => {
  const niced = attackersNice === 0 ? command : ['nice', '-n', String(attackersNice), ...command]
  // The shell joins the cgroup before it becomes the generator: nothing of it runs outside.
  return attackersCgroup ? ['sh', ['-c', 'echo $$ > "$0" && exec "$@"', path.join(attackersCgroup, 'cgroup.procs'), ...niced]] : [niced[0]!, niced.slice(1)]
}
const totalMs = Number(values.minutes ?? 10) * 60_000
const quietMs = Number(values['quiet-seconds'] ?? 60) * 1000
const floodClients = Number(values.flood ?? 20_000)
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const mib = 1024 * 1024
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const progress = (message: string) => process.stderr.write(`soak: ${message}\n`)

// The service, with nothing changed from its defaults but the port and the data directory.
const dataDir = mkdtempSync('/dev/shm/sandrun-soak-')
const profile = [...(values['cpu-prof-dir'] ? ['--cpu-prof', '--cpu-prof-dir', path.resolve(values['cpu-prof-dir'])] : []), ...(values['trace-gc'] ? ['--trace-gc'] : []), ...(values['node-flags']?.split(/\s+/).filter(Boolean) ?? [])]
// The service as an installed package runs it: the JavaScript build, not the sources through tsx.
execFileSync(process.execPath, ['--import', 'tsx', 'scripts/build.ts', '--no-types', '--if-stale'], { cwd: root, stdio: 'inherit' })
const gcTrace = values['trace-gc'] ? openSync(path.resolve(values['trace-gc']), 'w') : 'ignore'
const server = spawn(process.execPath, [...profile, 'dist/bin/sandrun', 'serve', '--port', '0', '--data-dir', dataDir], { cwd: root, stdio: ['ignore', gcTrace, 'pipe'], detached: values['service-own-session'] === true })
let unhandled = 0
let serverExit: number | null | undefined
server.once('exit', (code) => (serverExit = code))
const base = await new Promise<URL>((resolve, reject) => {
  createInterface({ input: server.stderr! }).on('line', (line) => {
    if (line.includes('unhandled rejection')) unhandled++
    const entry = JSON.parse(line) as { message: string; address?: string }
    if (entry.message === 'sandrun gateway listening') resolve(new URL(entry.address!))
  })
  server.once('exit', (code) => reject(new Error(`sandrun serve exited with ${code}`)))
})
progress(`service up at ${base.href}`)
const kernelConnLimit = values['kernel-conn-limit']
const limitScript = path.join(root, 'scripts/limit-new-connections.sh')
if (kernelConnLimit !== undefined) progress(execFileSync(limitScript, [base.port, ...kernelConnLimit.split('/')], { encoding: 'utf8' }).trim())

const rss = (): number => Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
/** CPU seconds the service process has used (its own threads; jobs and the launcher are other processes). */
const serviceCpu = (): number => {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

/**
 * Connections waiting in the service's accept queue now: the rx_queue of its listening socket in
 * /proc/net/tcp(6) (for a socket in LISTEN, the kernel reports its accept backlog there).
 */
const acceptQueue = (): number => {
  const port = Number(base.port).toString(16).toUpperCase().padStart(4, '0')
  let waiting = 0
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const [, local, , state, queues] = line.trim().split(/\s+/)
      if (state === '0A' && local?.endsWith(`:${port}`)) waiting += Number.parseInt(queues!.split(':')[1]!, 16)
    }
  }
  return waiting
}

/** SYNs the kernel dropped because a listening socket's accept queue was full (all of this host's; the soak's service is the one being flooded). */
const listenOverflows = (): number => {
  const [names, counts] = readFileSync('/proc/net/netstat', 'utf8')
    .split('\n')
    .filter((line) => line.startsWith('TcpExt:'))
  return Number(counts!.split(' ')[names!.split(' ').indexOf('ListenOverflows')])
}

type Phase = 'quiet' | 'hostile'
let phase: Phase = 'quiet'
/** When the current phase began (performance.now()). */
let phaseStart = performance.now()
/**
 * Where an honest job's time went: its submit request, in line and running (the service's
 * timestamps), and from its end to the long poll's answer.
 */
type JobTimes = { total: number; submit: number; queued: number; running: number; answer: number; at: number }
const newSamples = () => ({ http: [] as number[], turnaround: [] as number[], jobs: [] as JobTimes[], rss: 0, loopP99: 0, loopMax: 0, loopRunningMax: 0, loopWaitingMax: 0, failures: 0, cpuSeconds: 0, seconds: 0, listenOverflows: 0, acceptQueue: [] as number[] })
const samples = { quiet: newSamples(), hostile: newSamples() }
let stopping = false

/** Honest clients: a small job each, its logs and its output, again and again, from many addresses (20 jobs/hour each). */
async function honest(worker: number): Promise<void> {
  const bundle = await packFiles({ 'main.py': 'print(sum(range(100000)))\nopen("out.txt", "w").write("42")\n' })
  const upload = multipart([
    { name: 'files', value: bundle, filename: 'job.tar.gz' },
    { name: 'manifest', value: '{"entrypoint":"main.py"}' },
  ])
  for (let round = 0; !stopping; round++) {
    // 2,000 addresses: at 20 jobs per hour each, enough for 10 minutes of honest jobs at 60 a second
    // (250 ran out once the honest jobs were quick: the service's 429 for the hourly limit).
    const slot = (worker * 61 + round) % 2000
    const localAddress = `127.3.${Math.floor(slot / 250)}.${1 + (slot % 250)}`
    const agent = values['honest-keep-alive'] ? new http.Agent({ keepAlive: true, maxSockets: 1, localAddress }) : undefined
    try {
      await honestJob(upload, localAddress, agent)
    } finally {
      agent?.destroy()
    }
  }
}

/** One honest job: submit, wait for it, then its status, logs and output. */
async function honestJob({ body, contentType }: { body: Buffer; contentType: string }, localAddress: string, agent: http.Agent | undefined): Promise<void> {
  const at = phase
  const started = performance.now()
  const submitted = await request(base, { method: 'POST', path: '/submit', body, headers: { 'content-type': contentType }, localAddress, agent })
  if (submitted.status !== 200) {
    progress(`honest submit refused: ${submitted.status} ${submitted.body.toString().slice(0, 200)}`)
    samples[at].failures++
    await pause(1000)
    return
  }
  samples[at].http.push(submitted.ms)
  if (submitted.ms > 2000) progress(`slow honest submit: ${submitted.ms.toFixed(0)} ms`)
  const id = (JSON.parse(submitted.body.toString()) as { job_id: string }).job_id
  const done = await request(base, { path: `/status/${id}?wait=30`, localAddress, agent })
  const status = done.status === 200 ? (JSON.parse(done.body.toString()) as { status: string }).status : 'unknown'
  if (status !== 'completed') {
    progress(`honest job not completed within the long poll: ${done.status} ${status} after ${(performance.now() - started).toFixed(0)} ms`)
    samples[at].failures++
    return
  }
  const total = performance.now() - started
  samples[at].turnaround.push(total)
  const times = JSON.parse(done.body.toString()) as { submitted_at: string; started_at: string | null; finished_at: string | null }
  const [submittedAt, startedAt, finishedAt] = [times.submitted_at, times.started_at, times.finished_at].map((t) => (t ? Date.parse(t) : Number.NaN)) as [number, number, number]
  samples[at].jobs.push({ total, submit: submitted.ms, queued: startedAt - submittedAt, running: finishedAt - startedAt, answer: total - submitted.ms - (finishedAt - submittedAt), at: (started - phaseStart) / 1000 })
  for (const path of [`/status/${id}`, `/logs/${id}`, `/logs/${id}?format=json`, `/download/${id}/out.txt`]) {
    const answer = await request(base, { path, localAddress, agent })
    if (answer.status === 200) samples[at].http.push(answer.ms)
    else samples[at].failures++
    if (answer.ms > 2000 || answer.status !== 200) progress(`slow or failed honest request: ${path.split('/')[1]} ${answer.status} ${answer.ms.toFixed(0)} ms`)
  }
}

/** The service's RSS and event-loop delay, sampled every second. */
async function sampler(): Promise<void> {
  let last = { at: performance.now(), cpu: serviceCpu(), overflows: listenOverflows() }
  while (!stopping && serverExit === undefined) {
    const current = samples[phase]
    current.rss = Math.max(current.rss, rss())
    const now = { at: performance.now(), cpu: serviceCpu(), overflows: listenOverflows() }
    current.cpuSeconds += now.cpu - last.cpu
    current.listenOverflows += now.overflows - last.overflows
    current.acceptQueue.push(acceptQueue())
    current.seconds += (now.at - last.at) / 1000
    last = now
    const stats = await request(base, { path: '/stats', localAddress: '127.0.4.1', timeoutMs: 10_000 })
    if (stats.status === 200) {
      const { event_loop_delay_ms: delay } = (JSON.parse(stats.body.toString()) as { system: { event_loop_delay_ms: { p99: number; max: number; max_running: number | null; max_waiting_for_cpu: number | null } } }).system
      // /stats reports over the last one to two minutes: early in the hostile phase a reading still
      // covers the quiet phase's end. It counts for the hostile phase once two minutes have passed,
      // or where it exceeds all the quiet phase saw (then it happened since).
      const carriesQuiet = phase === 'hostile' && performance.now() - phaseStart < 120_000
      const note = (key: 'loopP99' | 'loopMax' | 'loopRunningMax' | 'loopWaitingMax', value: number) => {
        if (!carriesQuiet || value > samples.quiet[key]) current[key] = Math.max(current[key], value)
      }
      note('loopP99', delay.p99)
      note('loopMax', delay.max)
      note('loopRunningMax', delay.max_running ?? 0)
      note('loopWaitingMax', delay.max_waiting_for_cpu ?? 0)
    }
    await pause(1000)
  }
}

/** Submits a job and (unless told not to) waits for it to finish. */
async function submitJob(files: Record<string, string>, manifest: Record<string, unknown>, localAddress: string, { wait = true } = {}): Promise<string> {
  const { body, contentType } = multipart([
    { name: 'files', value: await packFiles(files), filename: 'job.tar.gz' },
    { name: 'manifest', value: JSON.stringify({ entrypoint: Object.keys(files)[0], ...manifest }) },
  ])
  const answer = await request(base, { method: 'POST', path: '/submit', body, headers: { 'content-type': contentType }, localAddress })
  const id = (JSON.parse(answer.body.toString()) as { job_id: string }).job_id
  if (wait) await request(base, { path: `/status/${id}?wait=60`, localAddress })
  return id
}

const honestWorkers = Array.from({ length: 4 }, (_, i) => honest(i))
const sampling = sampler()
const startedAt = Date.now()
progress(`quiet phase: ${quietMs / 1000} s of honest clients alone`)
await pause(quietMs)

phase = 'hostile'
phaseStart = performance.now()
progress('hostile phase: starting the hostile clients')
const bigLogJob = await submitJob({ 'main.sh': 'head -c 20M /dev/zero; head -c 20M /dev/zero >&2' }, {}, '127.0.9.100')
const outputJob = await submitJob({ 'main.sh': 'echo x > out.txt' }, {}, '127.0.9.101')
const remainingSeconds = Math.ceil((totalMs - (Date.now() - startedAt)) / 1000)
const watchedJob = await submitJob({ 'main.sh': 'while true; do head -c 3000 /dev/urandom | base64; sleep 1; done' }, { timeout: Math.min(3600, remainingSeconds + 120) }, '127.0.9.102', { wait: false })
const hostileReport: string[] = []
const hostileClients: ChildProcess = spawn(...attacker([process.execPath, '--import', 'tsx', 'bench/api/hostileProcess.ts', '--url', base.origin, '--big-log-job', bigLogJob, '--output-job', outputJob]), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
createInterface({ input: hostileClients.stdout! }).on('line', (line) => hostileReport.push(line))
// Clients per flood process: its descriptors must fit under the hard limit this host allows (raising
// it takes CAP_SYS_RESOURCE, which containers often lack), so a big flood runs in several processes.
const floodPerProcess = 10_000
const floodLast = new Map<number, string>()
const floodReports: string[] = []
const floods: ChildProcess[] = []
for (let first = 0; first < floodClients; first += floodPerProcess) {
  const clients = Math.min(floodPerProcess, floodClients - first)
  const child = spawn(...attacker(['prlimit', `--nofile=${clients + 1000}:${clients + 1000}`, process.execPath, '--import', 'tsx', 'bench/api/wsFlood.ts', '--url', base.origin, '--job', watchedJob, '--clients', String(clients), '--first', String(first)]), { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    floodLast.set(first, line)
    floodReports.push(line)
  })
  floods.push(child)
}
while (Date.now() - startedAt < totalMs && serverExit === undefined) {
  await pause(10_000)
  progress(`${Math.round((Date.now() - startedAt) / 1000)} s: RSS ${(rss() / mib).toFixed(0)} MiB, service CPU ${serviceCpu().toFixed(1)} s, load ${os.loadavg()[0]!.toFixed(1)}, flood ${floodReports.at(-1) ?? 'starting'}`)
}

progress('stopping')
stopping = true
const stopped = (child: ChildProcess) => new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)))
for (const flood of floods) flood.kill('SIGTERM')
hostileClients.kill('SIGTERM')
await Promise.all([...floods.map(stopped), stopped(hostileClients)])
await Promise.all(honestWorkers)
await sampling
const survived = serverExit === undefined
server.kill('SIGTERM')
await new Promise((resolve) => (serverExit === undefined ? server.once('exit', resolve) : resolve(undefined)))
rmSync(dataDir, { recursive: true, force: true })
if (kernelConnLimit !== undefined) execFileSync(limitScript, [base.port, '--remove'])
if (attackersCgroup) {
  try {
    rmdirSync(attackersCgroup)
  } catch (error) {
    progress(`could not remove ${attackersCgroup}: ${(error as Error).message}`)
  }
}

// The flood processes' last reports, added up.
const floodFinal = { open: 0, answers: {} as Record<string, number> }
for (const line of floodLast.values()) {
  const report = JSON.parse(line) as { open: number; answers: Record<string, number> }
  floodFinal.open += report.open
  for (const [key, count] of Object.entries(report.answers)) floodFinal.answers[key] = (floodFinal.answers[key] ?? 0) + count
}
const floodTally = new Tally()
for (const [key, count] of Object.entries(floodFinal.answers)) if (/^\d+$/.test(key)) for (let i = 0; i < count; i++) floodTally.add(Number(key))
const quiet = samples.quiet
const hostile = samples.hostile
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : 'n/a')
const ms = (v: number) => `${v.toFixed(0)} ms`
const rows = [
  ['honest HTTP requests, p50', ms(percentile(quiet.http, 50)), ms(percentile(hostile.http, 50)), ratio(percentile(hostile.http, 50), percentile(quiet.http, 50))],
  ['honest HTTP requests, p99', ms(percentile(quiet.http, 99)), ms(percentile(hostile.http, 99)), ratio(percentile(hostile.http, 99), percentile(quiet.http, 99))],
  ['honest job, submit -> completed, p50', ms(percentile(quiet.turnaround, 50)), ms(percentile(hostile.turnaround, 50)), ratio(percentile(hostile.turnaround, 50), percentile(quiet.turnaround, 50))],
  ['honest job, submit -> completed, p99', ms(percentile(quiet.turnaround, 99)), ms(percentile(hostile.turnaround, 99)), ratio(percentile(hostile.turnaround, 99), percentile(quiet.turnaround, 99))],
  ['honest jobs completed / requests failed', `${quiet.turnaround.length} / ${quiet.failures}`, `${hostile.turnaround.length} / ${hostile.failures}`, ''],
  ['service RSS, peak', `${(quiet.rss / mib).toFixed(0)} MiB`, `${(hostile.rss / mib).toFixed(0)} MiB`, ratio(hostile.rss, quiet.rss)],
  ['service process CPU (share of one core)', `${((quiet.cpuSeconds / quiet.seconds) * 100).toFixed(0)} %`, `${((hostile.cpuSeconds / hostile.seconds) * 100).toFixed(0)} %`, ratio(hostile.cpuSeconds / hostile.seconds, quiet.cpuSeconds / quiet.seconds)],
  ['SYNs dropped, accept queue full (host)', String(quiet.listenOverflows), String(hostile.listenOverflows), ''],
  ['connections waiting to be accepted, p50 / p90 / max (each second)', ...[quiet, hostile].map(({ acceptQueue: q }) => `${percentile(q, 50)} / ${percentile(q, 90)} / ${Math.max(0, ...q)}`), ''],
  ['event-loop delay, p99 / max', `${quiet.loopP99} / ${quiet.loopMax} ms`, `${hostile.loopP99} / ${hostile.loopMax} ms`, ''],
  ['longest between two 10 ms turns: service running / waiting for a CPU', `${quiet.loopRunningMax} / ${quiet.loopWaitingMax} ms`, `${hostile.loopRunningMax} / ${hostile.loopWaitingMax} ms`, ''],
]
/** The slowest 1 % of a phase's honest jobs: the mean of each part of their time. */
const slowest = (jobs: JobTimes[]): string => {
  const slow = [...jobs].sort((a, b) => b.total - a.total).slice(0, Math.max(1, Math.ceil(jobs.length / 100)))
  const mean = (key: keyof JobTimes) => ms(slow.reduce((sum, j) => sum + j[key], 0) / slow.length)
  return `${mean('total')}: ${mean('submit')} submit, ${mean('queued')} queued, ${mean('running')} running, ${mean('answer')} answer`
}
rows.push(['honest job, slowest 1 % (mean): submit request, in line, running, end to answer', slowest(quiet.jobs), slowest(hostile.jobs), ''])
/** When in its phase each of the slowest 1 % was submitted (s): first, median, last. */
const slowestWhen = (jobs: JobTimes[]): string => {
  const at = [...jobs].sort((a, b) => b.total - a.total).slice(0, Math.max(1, Math.ceil(jobs.length / 100))).map((j) => j.at).sort((a, b) => a - b)
  return at.length === 0 ? '-' : `${at[0]!.toFixed(0)} / ${at[Math.floor(at.length / 2)]!.toFixed(0)} / ${at.at(-1)!.toFixed(0)} s`
}
rows.push(['honest job, slowest 1 %: submitted this long into the phase, first / median / last', slowestWhen(quiet.jobs), slowestWhen(hostile.jobs), ''])
// The hostile phase's first seconds: eight new clients, each as light as an honest one, at once.
const settled = hostile.jobs.filter((j) => j.at >= 30).map((j) => j.total)
rows.push(['honest job, submit -> completed, p99 (hostile: after its first 30 s)', ms(percentile(quiet.turnaround, 99)), ms(percentile(settled, 99)), ratio(percentile(settled, 99), percentile(quiet.turnaround, 99))])
for (const part of ['queued', 'running'] as const) {
  rows.push([`honest job, ${part}, p50 / p99`, `${ms(percentile(quiet.jobs.map((j) => j[part]), 50))} / ${ms(percentile(quiet.jobs.map((j) => j[part]), 99))}`, `${ms(percentile(hostile.jobs.map((j) => j[part]), 50))} / ${ms(percentile(hostile.jobs.map((j) => j[part]), 99))}`, ''])
}
const actors = (JSON.parse(hostileReport.at(-1) ?? '[]') as Array<{ name: string; answers: Record<string, number> }>).map(({ name, answers }) => {
  const tally = new Tally()
  for (const [status, count] of Object.entries(answers)) for (let i = 0; i < count; i++) tally.add(Number(status))
  return { name, tally }
})
const refusalRows = [...actors.map((a) => [a.name, a.tally.total, a.tally.refused, a.tally.toString()] as const), [`WebSocket flood, ${floodClients} clients (${floodFinal.open} held at the end)`, floodTally.total, floodTally.refused, floodTally.toString()] as const]
process.stdout.write(
  [
    `Hostile soak — ${os.cpus().length} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}, load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`,
    `${totalMs / 60_000} minutes: ${quietMs / 1000} s honest clients alone, then with hostile ones${attackersNice === 0 ? '' : ` (load generators at nice ${attackersNice})`}${kernelConnLimit === undefined ? '' : `, new connections limited in the kernel to ${kernelConnLimit} (per second / burst) per address`}${values['honest-keep-alive'] ? ', honest clients keep one connection per job' : ''}${values['service-own-session'] ? ', the service in a session of its own' : ''}${attackersCgroup ? `, load generators in an idle CPU cgroup (${attackersCgroupKind})` : ''}. Service survived: ${survived ? 'yes' : `NO (exit ${serverExit})`}; unhandled rejections logged: ${unhandled}.`,
    '',
    '| measure | quiet | hostile | hostile / quiet |',
    '| --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
    '',
    '| hostile client | requests | refused | answers |',
    '| --- | --- | --- | --- |',
    ...refusalRows.map((r) => `| ${r.join(' | ')} |`),
    '',
  ].join('\n'),
)
