// The HTTP side of the soak benchmark (hostileSoak.ts): requests from a chosen local address (the
// service tells clients apart by address, and a hostile client is one address or many), requests
// that are sent and then never read, and a tally of answers by status code.
import http from 'node:http'
import net from 'node:net'

export type Answer = { status: number; body: Buffer; ms: number }

export type RequestParameters = {
  method?: string
  path: string
  headers?: Record<string, string>
  body?: Buffer | undefined
  localAddress: string
  timeoutMs?: number
  /** Reuse this agent's connections (keep-alive); default a new connection per request. */
  agent?: http.Agent | undefined
}

/** One request, read to the end; status 0 when the connection failed or timed out. */
export function request(base: URL, { method = 'GET', path, headers = {}, body, localAddress, timeoutMs = 120_000, agent }: RequestParameters): Promise<Answer> {
  const started = performance.now()
  return new Promise((resolve) => {
    const req = http.request(
      { host: base.hostname, port: base.port, method, path, localAddress, agent: agent ?? false, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) }, timeout: timeoutMs },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks), ms: performance.now() - started }))
        response.on('error', () => resolve({ status: 0, body: Buffer.alloc(0), ms: performance.now() - started }))
      },
    )
    req.on('timeout', () => req.destroy())
    req.on('error', () => resolve({ status: 0, body: Buffer.alloc(0), ms: performance.now() - started }))
    req.end(body)
  })
}

/** Sends `head` and reads nothing more; the socket is closed by whoever gives up first. */
export function stalledRequest(base: URL, localAddress: string, head: string): Promise<net.Socket | null> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: base.hostname, port: Number(base.port), localAddress }, () => {
      socket.pause()
      socket.write(head, () => resolve(socket))
    })
    socket.on('error', () => resolve(null))
  })
}

/** Answers counted by status code (0: connection failed). */
export class Tally {
  readonly counts = new Map<number, number>()

  add(status: number): void {
    this.counts.set(status, (this.counts.get(status) ?? 0) + 1)
  }

  get total(): number {
    let sum = 0
    for (const count of this.counts.values()) sum += count
    return sum
  }

  /** Refusals: 4xx and 5xx answers. */
  get refused(): number {
    let sum = 0
    for (const [status, count] of this.counts) if (status >= 400) sum += count
    return sum
  }

  toString(): string {
    return [...this.counts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([status, count]) => `${status || 'conn failed'}: ${count}`)
      .join(', ')
  }
}

/** A multipart/form-data body. */
export function multipart(parts: Array<{ name: string; value: Buffer | string; filename?: string }>, boundary = 'soak-boundary'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = []
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ''}`
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`), Buffer.from(part.value), Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
