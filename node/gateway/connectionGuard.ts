// Caps open connections below the process's file-descriptor limit, so a flood of clients (idle
// WebSocket viewers, slow readers) meets a clear 503 instead of taking the descriptors the service
// needs to run and clean up jobs; one address (an IPv6 /64) may hold only a share of them (429),
// and open new ones only so fast (429): a client that reconnects in a loop is refused here, for a
// write and a close, not by the HTTP parser and the routes after a full request.
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import { Server as NetServer, type Socket } from 'node:net'
import { clientAddressKey } from './clientAddressKey.ts'

export type ConnectionLimits = {
  /** Connections open at once, all clients together. */
  maxConnections: number
  /** Connections one address (IPv6: one /64) may hold; 0 = no per-address cap (behind a proxy). */
  maxConnectionsPerAddress: number
  /** New connections one address may open per second, in bursts of up to its cap; 0 = no limit. */
  newConnectionsPerAddressPerSecond?: number | undefined
  /** The backlog the server listens with (the extra accept handles listen with it too); default 511, Node's. */
  listenBacklog?: number | undefined
}

/** The soft RLIMIT_NOFILE of this process (Node cannot read it otherwise); 1024 if unknown. */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'))
    const soft = Number(line?.split(/\s{2,}/)[1])
    return Number.isSafeInteger(soft) && soft > 0 ? soft : 1024
  } catch {
    return 1024
  }
}

/**
 * Connections allowed under a descriptor limit: a quarter of the descriptors (at least 256) stay for
 * the service's own work (job processes' pipes, cgroup files, cleanup, chain and peer sockets).
 */
export function connectionsUnderFileLimit(fileLimit: number): number {
  const reserve = Math.max(256, Math.floor(fileLimit / 4))
  return Math.max(32, Math.min(10_000, fileLimit - reserve))
}

/** A whole HTTP response refusing a connection, written straight to its socket; `body` gets `retry_after`. */
export function refusal(status: 429 | 503, body: Record<string, unknown>, retryAfterSeconds = 5): string {
  const json = JSON.stringify({ ...body, retry_after: retryAfterSeconds })
  const text = status === 429 ? 'Too Many Requests' : 'Service Unavailable'
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nRetry-After: ${retryAfterSeconds}\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`
}

/** An address holding fewer connections than this may still use the reserved part of the cap. */
const fewConnections = 4

/** Listening handles besides the server's own, on the same socket: each accepts one connection per turn. */
const extraAcceptHandles = 7

type Counted = NetServer & { _connections: number }
type Owned = Socket & { server: NetServer; _server: NetServer }

/**
 * libuv accepts one connection per listening handle per turn of the event loop (libuv#3696), so a
 * flood's burst of thousands of new connections took thousands of turns to accept, each as long as
 * all else the service does in a turn (up to 1,900 waiting in the soak; a client's one request
 * waited 0.9 s behind them). More handles on the same socket accept that many per turn. Node has no
 * dup(): a helper process is sent the listening socket over IPC and sends it back, which gives a
 * new descriptor for it each time (the cluster module shares listening sockets the same way). Their
 * connections go to the server's own 'connection' listeners, counted as the server's. Without the
 * helper (it cannot start) the server accepts as before.
 */
function addAcceptHandles(server: Server, count: number, backlog: number): Promise<number> {
  const extras: NetServer[] = []
  let settle!: (handles: number) => void
  const ready = new Promise<number>((resolve) => (settle = resolve))
  const close = server.close.bind(server)
  server.close = (callback?: (error?: Error) => void) => {
    for (const extra of extras.splice(0)) extra.close()
    return close(callback)
  }
  server.once('listening', () => {
    const handle = (server as unknown as { _handle: object | null })._handle
    if (count <= 0 || typeof server.address() !== 'object' || !handle) return settle(1)
    // The raw handle, not the server: a server is listened on again where it arrives, with Node's
    // default backlog, which the kernel would then apply to the socket.
    const helper = spawn(process.execPath, ['-e', "process.on('message', (m, h) => process.send(m, h, () => { h.close(); if (m === 'last') process.disconnect() }))"], {
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
    })
    // It could not start (or is gone): the server accepts through the handles it has.
    helper.on('error', () => settle(1 + extras.length))
    helper.once('exit', () => settle(1 + extras.length))
    helper.on('message', (_message: unknown, received: { close(): void } | undefined) => {
      if (!received) return
      if (!server.listening) return void received.close()
      const extra = new NetServer()
      // What the server's own handle gives each socket it accepts (HTTP's half-open sockets, no Nagle).
      for (const key of ['allowHalfOpen', 'noDelay', 'keepAlive', 'keepAliveInitialDelay', 'highWaterMark'] as const) {
        ;(extra as unknown as Record<string, unknown>)[key] = (server as unknown as Record<string, unknown>)[key]
      }
      ;(extra as NetServer & { pauseOnConnect: boolean }).pauseOnConnect = true
      extra.maxConnections = server.maxConnections
      extra.on('error', () => extra.close())
      extra.on('connection', (socket: Owned) => {
        // Counted as the server's: it closes (and says so) once these are gone too.
        socket.server = server
        socket._server = server
        ;(extra as Counted)._connections--
        ;(server as unknown as Counted)._connections++
        server.emit('connection', socket)
      })
      extra.listen(received, backlog)
      extras.push(extra)
    })
    for (let i = 0; i < count; i++) helper.send(i === count - 1 ? 'last' : 'again', handle as never, () => {})
  })
  return ready
}

/**
 * New sockets of addresses that opened others just before (see guardConnections): read up to this
 * many per turn of the event loop; while connections wait to be accepted, at least this many a
 * second, in bursts of up to `heavyReadBurst`.
 */
const heavyReadsPerTurn = 64
const heavyReadsPerSecond = 300
const heavyReadBurst = 32

/** Refused sockets kept open for a second so the answer arrives; beyond this many, closed at once. */
const maxLingering = 256
/**
 * Refusals carried out per turn of the event loop; the rest wait (paused) for the next turns, up to
 * `maxWaitingRefusals` where the descriptor limit leaves room for them (at least 512 beyond the
 * connections and the lingering ones), beyond which they are carried out at once. A flood's
 * requests come in bursts (hundreds of refused WebSocket upgrades read in one turn), and answering
 * and closing them all there held the loop for 50-170 ms: a close also runs the peer's side of the
 * connection on loopback.
 */
const refusalsPerTurn = 32
const maxWaitingRefusals = 256

/**
 * Puts the guard in front of the HTTP server: a connection over a limit is answered and closed
 * before the HTTP parser (and fastify) ever see it.
 */
export type ConnectionGuard = {
  /** Connections open now. */
  open(): number
  /** Answers a socket with `response` and closes it (what the guard does with a refused connection). */
  refuse(socket: Socket, response: string): void
  /** Resolves once the server listens with all the handles it will have: how many accept connections. */
  acceptHandles: Promise<number>
}

export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  const perAddress = new Map<string, number>()
  let open = 0
  let lingering = 0
  // The kernel-level backstop: sockets beyond this are dropped by Node without a word.
  const mayWait = Math.max(0, Math.min(maxWaitingRefusals, openFileLimit() - limits.maxConnections - maxLingering - 2 * maxWaitingRefusals))
  server.maxConnections = limits.maxConnections + maxLingering + mayWait

  const waiting: Array<{ socket: Socket; response: string }> = []
  const refuseWaiting = () => {
    for (const { socket, response } of waiting.splice(0, refusalsPerTurn)) refuseNow(socket, response)
    if (waiting.length > 0) setImmediate(refuseWaiting)
  }
  const refuse = (socket: Socket, response: string): void => {
    if (waiting.length >= mayWait) return void refuseNow(socket, response)
    socket.pause()
    waiting.push({ socket, response })
    if (waiting.length === 1) setImmediate(refuseWaiting)
  }
  const refuseNow = (socket: Socket, response: string): void => {
    // A socket the client closed already: writing to it would only build errors (with their stack
    // traces, a good part of the refusals' cost under the soak's flood).
    if (lingering >= maxLingering || !socket.writable) return void socket.destroy()
    lingering++
    socket.on('error', () => {})
    socket.resume()
    socket.end(response)
    const timer = setTimeout(() => socket.destroy(), 1000)
    timer.unref()
    socket.once('close', () => {
      lingering--
      clearTimeout(timer)
    })
  }

  // Token buckets of new connections per address, forgotten once full again (nothing to remember).
  const rate = limits.newConnectionsPerAddressPerSecond ?? 0
  const buckets = new Map<string, { tokens: number; at: number }>()
  const burst = Math.max(1, limits.maxConnectionsPerAddress)
  const sweep = setInterval(() => {
    const now = performance.now()
    for (const [key, bucket] of buckets) if (bucket.tokens + ((now - bucket.at) / 1000) * rate >= burst) buckets.delete(key)
  }, 10_000)
  sweep.unref()
  server.once('close', () => clearInterval(sweep))
  const takeToken = (key: string): boolean => {
    const now = performance.now()
    const bucket = buckets.get(key) ?? { tokens: burst, at: now }
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) / 1000) * rate)
    bucket.at = now
    buckets.set(key, bucket)
    if (bucket.tokens < 1) return false
    bucket.tokens -= 1
    return true
  }

  // The last tenth of the connections is kept for addresses that hold few: a flood spread over a few
  // hundred addresses, each within its own cap, can fill the rest, but not keep a client with one
  // request to make from getting in.
  const reserved = Math.floor(limits.maxConnections / 10)

  // New connections per address in the current second and the one before (a client that opens one
  // now and then is light; a burst from one address is not, however quickly each is answered).
  let recent = new Map<string, number>()
  let previous = new Map<string, number>()
  let recentSince = performance.now()
  const openedRecently = (key: string): number => {
    const now = performance.now()
    if (now - recentSince >= 1000) {
      previous = now - recentSince >= 2000 ? new Map() : recent
      recent = new Map()
      recentSince = now
    }
    const count = (recent.get(key) ?? 0) + 1
    recent.set(key, count)
    return count + (previous.get(key) ?? 0)
  }

  /** 'light' when the address opened no other connection in the last second or two: it is read at once. */
  const admit = (socket: Socket): 'light' | 'heavy' | false => {
    if (open >= limits.maxConnections) {
      refuse(socket, refusal(503, { error: 'Service busy', details: `The service has ${open} connections open, its limit. Try again in a few seconds.` }))
      return false
    }
    const key = limits.maxConnectionsPerAddress > 0 ? clientAddressKey(socket.remoteAddress ?? '') : null
    const held = key === null ? 0 : (perAddress.get(key) ?? 0)
    if (key !== null && held >= fewConnections && open >= limits.maxConnections - reserved) {
      refuse(socket, refusal(503, { error: 'Service busy', details: `The service is close to its limit of ${limits.maxConnections} connections and keeps the rest for clients holding fewer than ${fewConnections}; your address holds ${held}. Close some and try again.` }))
      return false
    }
    if (key !== null && held >= limits.maxConnectionsPerAddress) {
      refuse(socket, refusal(429, { error: 'Too many connections', details: `Your address holds ${held} open connections, the limit per address. Close some (idle log viewers, kept-alive requests) and try again.` }))
      return false
    }
    if (key !== null && rate > 0 && !takeToken(key)) {
      refuse(socket, refusal(429, { error: 'Too many new connections', details: `Your address opens connections faster than ${rate} a second on average. Reuse connections (keep-alive) or slow down.` }))
      return false
    }
    open++
    if (key !== null) perAddress.set(key, held + 1)
    socket.once('close', () => {
      open--
      if (key === null) return
      const left = (perAddress.get(key) ?? 1) - 1
      if (left === 0) perAddress.delete(key)
      else perAddress.set(key, left)
    })
    return key === null || openedRecently(key) <= 1 ? 'light' : 'heavy'
  }

  // Sockets start paused (read nothing) until the guard has decided. libuv accepts one connection
  // per turn of the event loop (libuv#3696), and a turn reads every socket that has data: behind a
  // burst of thousands of a flood's new connections, each turn read and answered a few more of them
  // before the next accept, and a client's one request waited 0.5-1 s in the accept queue
  // (bench/api/connectionBurst.ts). The connection of an address that opened no other in the last
  // second or two is read at once; the others are read a batch per turn once a turn accepts nothing
  // (the queue is empty), and only at a minimum rate while turns keep accepting, so that the turns
  // stay short and the queue drains first.
  ;(server as Server & { pauseOnConnect: boolean }).pauseOnConnect = true
  const deferred: Socket[] = []
  let acceptedSinceDrain = 0
  let tokens = heavyReadBurst
  let tokensAt = performance.now()
  let draining = false
  // Once per turn: a turn that accepted a connection may have more waiting in the queue, and then
  // only the minimum rate is read; a turn without one reads a batch.
  const drain = (): void => {
    const now = performance.now()
    tokens = Math.min(heavyReadBurst, tokens + ((now - tokensAt) / 1000) * heavyReadsPerSecond)
    tokensAt = now
    const backlog = acceptedSinceDrain > 0
    acceptedSinceDrain = 0
    let budget = backlog ? Math.floor(tokens) : heavyReadsPerTurn
    while (budget > 0 && deferred.length > 0) {
      const socket = deferred.shift()!
      if (socket.destroyed) continue
      budget--
      if (backlog) tokens--
      socket.resume()
    }
    if (deferred.length > 0) setImmediate(drain)
    else draining = false
  }

  const acceptHandles = addAcceptHandles(server, extraAcceptHandles, limits.listenBacklog ?? 511)

  // The HTTP server's own 'connection' listener (its parser) runs only for admitted sockets.
  const httpListeners = server.listeners('connection') as Array<(socket: Socket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    acceptedSinceDrain++
    const admitted = admit(socket)
    if (!admitted) return
    for (const listener of httpListeners) listener.call(server, socket)
    if (admitted === 'light') return void socket.resume()
    deferred.push(socket)
    if (!draining) {
      draining = true
      setImmediate(drain)
    }
  })
  return { open: () => open, refuse, acceptHandles }
}
