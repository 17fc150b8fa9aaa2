// The WebSocket flood of the soak benchmark, in a process of its own (it needs more descriptors than
// the benchmark: started under `prlimit`). Holds `--clients` viewers of one job from many local
// addresses, none of which reads; a viewer that is refused or dropped tries again a few seconds
// later. Every 5 s it prints one JSON line: viewers open now, and answers counted by status.
// Usage: node --import tsx bench/api/wsFlood.ts --url http://127.0.0.1:PORT --job ID [--clients 20000] [--per-address 64] [--first 0]
// (--first: the index of its first client, so that several flood processes use different addresses)
import { parseArgs } from 'node:util'
import type { Socket } from 'node:net'
import WebSocket from 'ws'

const { values } = parseArgs({ options: { url: { type: 'string' }, job: { type: 'string' }, clients: { type: 'string' }, 'per-address': { type: 'string' }, first: { type: 'string' } } })
const target = `${values.url!.replace('http', 'ws')}/logs/${values.job}/stream`
const clients = Number(values.clients ?? 20_000)
const first = Number(values.first ?? 0)
const perAddress = Number(values['per-address'] ?? 64)

let open = 0
const answers = new Map<string, number>()
const count = (key: string): void => void answers.set(key, (answers.get(key) ?? 0) + 1)
let stopping = false

function addressOf(index: number): string {
  const group = Math.floor(index / perAddress)
  return `127.10.${Math.floor(group / 250)}.${(group % 250) + 1}`
}

function connect(index: number): void {
  if (stopping) return
  const again = (delayMs: number): void => void setTimeout(() => connect(index), delayMs + Math.random() * 1000)
  const socket = new WebSocket(target, { localAddress: addressOf(index), handshakeTimeout: 30_000 })
  let opened = false
  socket.once('open', () => {
    opened = true
    open++
    count('101')
    ;(socket as unknown as { _socket: Socket })._socket.pause()
  })
  socket.once('unexpected-response', (_request, response) => {
    count(String(response.statusCode ?? 0))
    response.resume()
    socket.terminate()
  })
  socket.once('error', () => count('error'))
  socket.once('close', (code) => {
    if (opened) {
      open--
      count(`closed ${code}`)
    }
    again(opened ? 1000 : 4000)
  })
}

const report = (): void => void process.stdout.write(`${JSON.stringify({ open, answers: Object.fromEntries(answers) })}\n`)
setInterval(report, 5000).unref()
process.on('SIGTERM', () => {
  stopping = true
  report()
  process.exit(0)
})

// Ramp up in batches, as a botnet would, rather than all in one tick.
for (let index = first; index < first + clients; index += 250) {
  for (let i = index; i < Math.min(first + clients, index + 250); i++) connect(i)
  await new Promise((resolve) => setTimeout(resolve, 100))
}
await new Promise(() => undefined)
