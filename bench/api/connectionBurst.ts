// A burst of new connections against one `sandrun serve` (the build in dist/), as a flood's clients
// reconnect all at once: --connections sockets from --addresses local addresses, each sending a
// WebSocket upgrade for a job's log stream (or nothing, --silent), then one honest GET /health right
// behind them, all waiting in the accept queue of the service (stopped while they connect). Reports,
// per burst, how long the honest request took once the service went on and the longest stretch of
// the service's own work between two turns of its event loop (GET /stats, max_running), beside a
// lone GET /health on the idle service measured in the same run.
// Run: node --import tsx bench/api/connectionBurst.ts [--connections 3000] [--addresses 150] [--bursts 5] [--silent] [--cpu-prof-dir DIR]
import '../../node/promiseWithResolvers.ts'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { request } from './soakClient.ts'

const { values } = parseArgs({ options: { connections: { type: 'string' }, addresses: { type: 'string' }, bursts: { type: 'string' }, silent: { type: 'boolean' }, 'cpu-prof-dir': { type: 'string' } } })
const connections = Number(values.connections ?? 3000)
const addresses = Number(values.addresses ?? 150)
const bursts = Number(values.bursts ?? 5)
const root = fileURLToPath(new URL('../..', import.meta.url))
const dataDir = mkdtempSync('/dev/shm/sandrun-burst-')
const profile = values['cpu-prof-dir'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof-dir']}`] : []
const server = spawn(process.execPath, [ ...profile, 'dist/bin/sandrun', 'serve', '--port', '0', '--data-dir', dataDir], { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] })
const base = await new Promise<URL>((resolve, reject) => {
  createInterface({ input: server.stderr! }).on('line', (line) => {
    if (!line.startsWith('{')) return
    const entry = JSON.parse(line) as { message: string; address?: string }
    if (entry.message === 'sandrun gateway listening') resolve(new URL(entry.address!))
  })
  server.once('exit', (code) => reject(new Error(`sandrun serve exited with ${code}`)))
})
const port = Number(base.port)
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const upgrade = `GET /logs/job-${'0'.repeat(32)}/stream HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`

async function stats(): Promise<{ max_running: number | null; max: number }> {
  const answer = await request(base, { path: '/stats', localAddress: '127.0.4.1' })
  return (JSON.parse(answer.body.toString()) as { system: { event_loop_delay_ms: { max_running: number | null; max: number } } }).system.event_loop_delay_ms
}

async function health(localAddress: string): Promise<number> {
  const answer = await request(base, { path: '/health', localAddress })
  return answer.ms
}

// Baseline: the idle service.
await pause(2000)
const idle: number[] = []
for (let i = 0; i < 20; i++) idle.push(await health(`127.0.5.${1 + i}`))
idle.sort((a, b) => a - b)
const before = await stats()
console.error(`burst: idle GET /health p50 ${idle[10]!.toFixed(1)} ms; event loop max ${before.max} ms, running max ${before.max_running} ms`)

// The burst comes from a process of its own, as a flood's clients are not the honest client: this
// one's event loop is free to send the honest request right behind the burst's connections.
const generator = spawn(process.execPath, ['--input-type=module', '-e', burstGenerator()], { stdio: ['pipe', 'pipe', 'inherit'] })
const generatorLines = createInterface({ input: generator.stdout! })[Symbol.asyncIterator]()
const nextLine = async (): Promise<string> => String((await generatorLines.next()).value)

function burstGenerator(): string {
  return `
import { createInterface } from 'node:readline'
const [port, connections, addresses, silent] = ${JSON.stringify([port, connections, addresses, values.silent === true])}
const upgrade = ${JSON.stringify(upgrade)}
let sockets = []
for await (const line of createInterface({ input: process.stdin })) {
  for (const socket of sockets) socket.destroy()
  sockets = []
  if (line === 'stop') break
  let answered = 0
  let connected = 0
  const started = performance.now()
  const done = () => { if (++answered === connections) process.stdout.write('answered ' + (performance.now() - started).toFixed(0) + '\\n') }
  for (let i = 0; i < connections; i++) {
    const a = i % addresses
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: '127.20.' + Math.floor(a / 250) + '.' + (1 + (a % 250)) })
    socket.on('error', () => {})
    socket.once('connect', () => {
      if (!silent) socket.write(upgrade)
      if (++connected === connections) process.stdout.write('sent\\n')
    })
    let counted = false
    const once = () => { if (!counted) { counted = true; done() } }
    socket.once('data', once)
    socket.once('close', once)
    sockets.push(socket)
  }
}
process.exit(0)
`
}

const results: Array<{ honestMs: number; openMs: number }> = []
for (let burst = 0; burst < bursts; burst++) {
  // The service stopped while the burst and then the honest request connect: all of them wait in
  // its accept queue, the honest one last, as when a burst lands while the service is off the CPU.
  server.kill('SIGSTOP')
  generator.stdin!.write('go\n')
  await nextLine()
  const honest = health(`127.0.6.${1 + burst}`)
  await pause(200)
  const resumed = performance.now()
  server.kill('SIGCONT')
  await honest
  const honestMs = performance.now() - resumed
  const answeredLine = values.silent ? 'answered 0' : await nextLine()
  const openMs = Number(answeredLine.split(' ')[1])
  results.push({ honestMs, openMs })
  console.error(`burst ${burst + 1}: honest GET /health ${honestMs.toFixed(0)} ms; ${values.silent ? '' : `all ${connections} answered in ${openMs.toFixed(0)} ms`}`)
  await pause(3000)
}
generator.stdin!.write('stop\n')
await new Promise((resolve) => generator.once('exit', resolve))
const after = await stats()
server.kill('SIGTERM')
await new Promise((resolve) => server.once('exit', resolve))
rmSync(dataDir, { recursive: true, force: true })
const sorted = results.map((r) => r.honestMs).sort((a, b) => a - b)
console.log(
  [
    `${bursts} bursts of ${connections} connections from ${addresses} addresses (${values.silent ? 'sending nothing' : 'each a WebSocket upgrade'}):`,
    `  honest GET /health behind a burst: median ${sorted[Math.floor(bursts / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms (${(sorted[Math.floor(bursts / 2)]! / idle[10]!).toFixed(0)}x the idle service's ${idle[10]!.toFixed(1)} ms)`,
    values.silent ? '' : `  every connection answered: median ${results.map((r) => r.openMs).sort((a, b) => a - b)[Math.floor(bursts / 2)]!.toFixed(0)} ms`,
    `  service event loop over the run: max ${after.max} ms, longest stretch running ${after.max_running} ms`,
  ].join('\n'),
)
