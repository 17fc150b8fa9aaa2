// The connection guard in front of a plain HTTP server: a client that opens connections in a loop
// is refused before its requests are parsed, and only that client.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import http from 'node:http'
import net, { type AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guardConnections, refusal } from './connectionGuard.ts'

let server: http.Server
let port: number
let served = 0

beforeAll(async () => {
  server = http.createServer((_request, response) => {
    served++
    response.setHeader('connection', 'close')
    response.end('ok')
  })
  guardConnections(server, { maxConnections: 1000, maxConnectionsPerAddress: 8, newConnectionsPerAddressPerSecond: 0.001 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

function get(localAddress: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, localAddress, agent: false }, (response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

describe('connection guard', () => {
  it('lets an address open a burst of connections, then refuses new ones faster than its rate, before any request is served', async () => {
    const before = served
    const burst = []
    for (let i = 0; i < 8; i++) burst.push(await get('127.0.5.1'))
    expect(burst.every((answer) => answer.status === 200)).toBe(true)
    const refused = await get('127.0.5.1')
    expect(refused.status).toBe(429)
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'Too many new connections', retry_after: 5 })
    expect(served - before).toBe(8)
    // Another address is not affected.
    expect((await get('127.0.5.2')).status).toBe(200)
  })
})

describe('connection guard near its global cap', () => {
  let busy: http.Server
  let busyPort: number
  const held: net.Socket[] = []
  beforeAll(async () => {
    busy = http.createServer((_request, response) => response.end('ok'))
    guardConnections(busy, { maxConnections: 20, maxConnectionsPerAddress: 8 })
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve))
    busyPort = (busy.address() as AddressInfo).port
  })
  afterAll(() => {
    for (const socket of held) socket.destroy()
    return new Promise<void>((resolve) => busy.close(() => resolve()))
  })

  /** A connection that stays open, sending nothing; resolves with what the guard answered, if anything, within 300 ms. */
  const hold = (localAddress: string): Promise<string> =>
    new Promise((resolve) => {
      const socket = net.connect({ host: '127.0.0.1', port: busyPort, localAddress })
      held.push(socket)
      let answer = ''
      socket.on('data', (chunk: Buffer) => (answer += chunk))
      socket.on('error', () => undefined)
      socket.once('connect', () => setTimeout(() => resolve(answer), 300))
    })

  it('keeps its last tenth for addresses that hold few connections', async () => {
    // 18 of 20 held: 8 + 4 + 6 from three addresses, each within its cap of 8.
    const first = [['127.0.6.1', 8], ['127.0.6.2', 4], ['127.0.6.3', 6]].flatMap(([address, count]) => Array.from({ length: count as number }, () => hold(address as string)))
    expect(await Promise.all(first)).toEqual(Array(18).fill(''))
    // An address holding 6 is refused from the reserved part, with a 503 that says why...
    const refused = await hold('127.0.6.3')
    expect(refused).toMatch(/^HTTP\/1.1 503/)
    expect(refused).toMatch(/keeps the rest for clients holding fewer than 4; your address holds 6/)
    // ...while a client with nothing open still gets in, and is served.
    const answer = await new Promise<number>((resolve, reject) => {
      http.get({ host: '127.0.0.1', port: busyPort, localAddress: '127.0.6.9', agent: false }, (response) => resolve(response.statusCode ?? 0)).on('error', reject)
    })
    expect(answer).toBe(200)
  })
})

describe('a burst of new connections', () => {
  it("does not hold a lone client's request behind the burst's: it is read as soon as it is accepted", async () => {
    // Who sent each request the server answered, in the order it answered them.
    const order: string[] = []
    const flooded = http.createServer((request, response) => {
      order.push(String(request.headers['x-who']))
      response.setHeader('connection', 'close')
      response.end('ok')
    })
    const guard = guardConnections(flooded, { maxConnections: 5000, maxConnectionsPerAddress: 1000, newConnectionsPerAddressPerSecond: 0 })
    await new Promise<void>((resolve) => flooded.listen(0, '127.0.0.1', resolve))
    expect(await guard.acceptHandles).toBe(8)
    const { port } = flooded.address() as AddressInfo
    const dir = mkdtempSync(path.join(tmpdir(), 'sandrun-burst-'))
    const marker = path.join(dir, 'connected')
    // 300 connections from 6 addresses (the listen backlog is 511), each with its request, then one from an address of its own:
    // all wait in the accept queue while this process's event loop is held, the lone one last.
    const client = spawn(
      process.execPath,
      [
        '-e',
        `const net = require('node:net'), fs = require('node:fs')
const open = (address, who, done) => { const s = net.connect({ port: ${port}, host: '127.0.0.1', localAddress: address }); s.on('error', () => {}); s.once('connect', () => { s.write('GET / HTTP/1.1\\r\\nHost: x\\r\\nx-who: ' + who + '\\r\\n\\r\\n'); done() }) }
let connected = 0
for (let i = 0; i < 300; i++) open('127.0.8.' + (1 + (i % 6)), 'flood', () => { if (++connected === 300) open('127.0.9.1', 'lone', () => fs.writeFileSync(${JSON.stringify(marker)}, '')) })
setInterval(() => {}, 1000)`,
      ],
      { stdio: 'ignore' },
    )
    try {
      const until = Date.now() + 30_000
      while (!existsSync(marker) && Date.now() < until) {
        // The service busy elsewhere: nothing is accepted meanwhile.
      }
      expect(existsSync(marker)).toBe(true)
      // Turns of the event loop until the lone client is answered: libuv accepts one connection per
      // listening handle per turn, and the lone one is last in the queue.
      let turns = 0
      while (!order.includes('lone')) {
        turns++
        await new Promise((resolve) => setImmediate(resolve))
      }
      expect(turns).toBeLessThan(100)
      while (order.length < 301) await new Promise((resolve) => setTimeout(resolve, 10))
      // Accepted last, answered among the first.
      expect(order.indexOf('lone')).toBeLessThan(75)
    } finally {
      client.kill('SIGKILL')
      rmSync(dir, { recursive: true, force: true })
      await new Promise<void>((resolve) => flooded.close(() => resolve()))
    }
  })
})

describe('a burst of refusals', () => {
  it('is carried out a few dozen per turn of the event loop, each refused client still getting its answer', async () => {
    const upgrades: net.Socket[] = []
    let allArrived!: () => void
    const arrived = new Promise<void>((resolve) => (allArrived = resolve))
    const count = 48
    const refusing = http.createServer()
    const guard = guardConnections(refusing, { maxConnections: 100, maxConnectionsPerAddress: 64 })
    refusing.on('upgrade', (_request, socket: net.Socket) => {
      upgrades.push(socket)
      if (upgrades.length === count) allArrived()
    })
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve))
    const refusingPort = (refusing.address() as AddressInfo).port
    try {
      const answers = Array.from(
        { length: count },
        (_, i) =>
          new Promise<string>((resolve) => {
            const socket = net.connect({ host: '127.0.0.1', port: refusingPort, localAddress: `127.0.8.${1 + (i % 4)}` })
            let answer = ''
            socket.on('data', (chunk: Buffer) => (answer += chunk))
            socket.on('error', () => undefined)
            socket.once('close', () => resolve(answer))
            socket.once('connect', () => socket.write('GET /logs/x/stream HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n'))
          }),
      )
      await arrived
      // All refused in one turn, as a flood's burst of requests arrives.
      for (const socket of upgrades) guard.refuse(socket, refusal(429, { error: 'Rate limit exceeded' }))
      const answeredAfterTurns: number[] = [upgrades.filter((s) => s.writableEnded || s.destroyed).length]
      while (answeredAfterTurns.at(-1)! < count && answeredAfterTurns.length < 20) {
        await new Promise((resolve) => setImmediate(resolve))
        answeredAfterTurns.push(upgrades.filter((s) => s.writableEnded || s.destroyed).length)
      }
      // None in the turn that refused them, then 32 a turn.
      expect(answeredAfterTurns.slice(0, 3)).toEqual([0, 32, 48])
      expect((await Promise.all(answers)).every((answer) => answer.startsWith('HTTP/1.1 429'))).toBe(true)
    } finally {
      await new Promise<void>((resolve) => refusing.close(() => resolve()))
    }
  })
})
