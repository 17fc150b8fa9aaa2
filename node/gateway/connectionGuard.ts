// Caps open connections below the process's file-descriptor limit, so a flood of clients (idle
// WebSocket viewers, slow readers) meets a clear 503 instead of taking the descriptors the service
// needs to run and clean up jobs; one address (an IPv6 /64) may hold only a share of them (429),
// and open new ones only so fast (429): a client that reconnects in a loop is refused here, for a
// write and a close, not by the HTTP parser and the routes after a full request.
import { readFileSync } from 'node:fs'
import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { clientAddressKey } from './clientAddressKey.ts'

export type ConnectionLimits = {
  /** Connections open at once, all clients together. */
  maxConnections: number
  /** Connections one address (IPv6: one /64) may hold; 0 = no per-address cap (behind a proxy). */
  maxConnectionsPerAddress: number
  /** New connections one address may open per second, in bursts of up to its cap; 0 = no limit. */
  newConnectionsPerAddressPerSecond?: number | undefined
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

/** Refused sockets kept open for a second so the answer arrives; beyond this many, closed at once. */
const maxLingering = 256

/**
 * Puts the guard in front of the HTTP server: a connection over a limit is answered and closed
 * before the HTTP parser (and fastify) ever see it.
 */
export type ConnectionGuard = {
  /** Connections open now. */
  open(): number
  /** Answers a socket with `response` and closes it (what the guard does with a refused connection). */
  refuse(socket: Socket, response: string): void
}

export function guardConnections(server: Server, limits: ConnectionLimits): ConnectionGuard {
  const perAddress = new Map<string, number>()
  let open = 0
  let lingering = 0
  // The kernel-level backstop: sockets beyond this are dropped by Node without a word.
  server.maxConnections = limits.maxConnections + maxLingering

  const refuse = (socket: Socket, response: string): void => {
    if (lingering >= maxLingering) return void socket.destroy()
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

  const admit = (socket: Socket): boolean => {
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
    return true
  }

  // The HTTP server's own 'connection' listener (its parser) runs only for admitted sockets.
  const httpListeners = server.listeners('connection') as Array<(socket: Socket) => void>
  server.removeAllListeners('connection')
  server.on('connection', (socket: Socket) => {
    if (!admit(socket)) return
    for (const listener of httpListeners) listener.call(server, socket)
  })
  return { open: () => open, refuse }
}
