// The fetch every JSON-RPC request goes through (chainTransport.ts hands it to viem): node:http on
// kept-alive connections, the body buffered whole. Node's own fetch (undici, web streams, abort
// signals made transferable) took, with the garbage it leaves, about a third of a busy worker's
// CPU; this one costs 0.43x its CPU per request (bench/chain/rpcFetch.ts; docs/BENCHMARKS.md, "RPC
// requests per worker"). It does what viem needs of a fetch and no more: POST or GET, a string
// body, the status, the headers viem reads (Content-Type, Content-Length, Retry-After) and the text.
import http from 'node:http'
import https from 'node:https'

/** Bodies above this are refused before they are read whole (viem's own limit is 10 MiB). */
export const maxRpcResponseBytes = 16 * 1024 * 1024

// Sockets stay open between requests: one TLS handshake per connection, not per request.
const agents = { 'http:': new http.Agent({ keepAlive: true, maxSockets: 64 }), 'https:': new https.Agent({ keepAlive: true, maxSockets: 64 }) }

type Headerish = { get(name: string): string | null; forEach(callback: (value: string, key: string) => void): void }

function headersOf(raw: http.IncomingHttpHeaders): Headerish {
  const lower = new Map<string, string>()
  for (const [key, value] of Object.entries(raw)) if (value !== undefined) lower.set(key.toLowerCase(), Array.isArray(value) ? value.join(', ') : value)
  return {
    get: (name) => lower.get(name.toLowerCase()) ?? null,
    forEach: (callback) => {
      for (const [key, value] of lower) callback(value, key)
    },
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new DOMException('This operation was aborted', 'AbortError')
}

export function rpcFetch(input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const url = new URL(input instanceof Request ? input.url : input)
  const agent = agents[url.protocol as keyof typeof agents]
  if (!agent) return Promise.reject(new TypeError(`unsupported RPC URL scheme ${url.protocol}`))
  const { signal } = init
  if (signal?.aborted) return Promise.reject(abortError(signal))
  return new Promise<Response>((resolve, reject) => {
    // viem passes a plain object; anything else goes through Headers.
    const headers: Record<string, string> = {}
    if (init.headers && !(init.headers instanceof Headers) && !Array.isArray(init.headers)) Object.assign(headers, init.headers)
    else
      new Headers(init.headers).forEach((value, key) => {
        headers[key] = value
      })
    const body = typeof init.body === 'string' ? Buffer.from(init.body) : undefined
    if (body) headers['content-length'] = String(body.length)
    const request = (url.protocol === 'https:' ? https : http).request(url, { method: init.method ?? 'GET', headers, agent }, (response) => {
      const declared = Number(response.headers['content-length'] ?? 0)
      if (declared > maxRpcResponseBytes) {
        response.destroy()
        return fail(new Error(`the RPC answered ${declared} bytes, more than ${maxRpcResponseBytes}`))
      }
      const chunks: Buffer[] = []
      let size = 0
      response.on('data', (chunk: Buffer) => {
        size += chunk.length
        if (size > maxRpcResponseBytes) {
          response.destroy()
          fail(new Error(`the RPC answered more than ${maxRpcResponseBytes} bytes`))
        } else chunks.push(chunk)
      })
      response.on('error', fail)
      response.on('end', () => {
        if (size > maxRpcResponseBytes) return
        done()
        const text = Buffer.concat(chunks).toString('utf8')
        const status = response.statusCode ?? 0
        resolve({
          ok: status >= 200 && status < 300,
          status,
          statusText: response.statusMessage ?? '',
          headers: headersOf(response.headers),
          body: null,
          text: async () => text,
          json: async () => JSON.parse(text),
        } as unknown as Response)
      })
    })
    const onAbort = (): void => {
      request.destroy()
      fail(abortError(signal!))
    }
    function done(): void {
      signal?.removeEventListener('abort', onAbort)
    }
    function fail(error: Error): void {
      done()
      reject(error)
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    request.on('error', fail)
    request.end(body)
  })
}
