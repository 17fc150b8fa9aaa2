// A JSON-RPC proxy in front of anvil that behaves like a public RPC provider: it refuses eth_getLogs
// over too many blocks or results (with the texts providers use), answers 429, lets requests time
// out, drops connections (before or after the chain saw the request) and adds latency, each at a
// seeded random rate, so a test run's faults can be replayed. Real HTTP on loopback.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { seededRandom } from '../../bench/market/seededRandom.ts'

export type FaultRates = {
  /** Share of requests answered HTTP 429 without reaching the chain. */
  rateLimited: number
  /** Share of requests forwarded, then left unanswered until the client gives up. */
  timeout: number
  /** Share of requests whose connection is cut (half before, half after the chain saw them). */
  dropped: number
  /** Extra latency per request, uniform in [0, latencyMs]. */
  latencyMs: number
}

export type FaultyRpcParameters = {
  /** The chain's own RPC URL (anvil). */
  target: string
  seed: number
  rates?: Partial<FaultRates>
  /** eth_getLogs limits, as the strictest public providers set them. */
  maxLogBlocks?: number
  maxLogResults?: number
  /** How long a timed-out request is held before its socket is closed; default 30 s. */
  holdMs?: number
}

export type FaultCounts = { requests: number; rateLimited: number; timeout: number; dropped: number; logRangeRefused: number; logResultsRefused: number }

export type FaultyRpc = {
  url: string
  /** What was injected so far (per kind), so a test can show the faults really happened. */
  counts: FaultCounts
  /** Requests per JSON-RPC method. */
  methods: Map<string, number>
  setRates(rates: Partial<FaultRates>): void
  close(): Promise<void>
}

type RpcRequest = { jsonrpc: '2.0'; id: unknown; method: string; params?: unknown[] }

/** Realistic rates for a busy public endpoint: a few % rate limited, rare timeouts and drops. */
export const realisticFaultRates: FaultRates = { rateLimited: 0.03, timeout: 0.002, dropped: 0.01, latencyMs: 40 }

export async function startFaultyRpc({ target, seed, rates = {}, maxLogBlocks = 1000, maxLogResults = 10_000, holdMs = 30_000 }: FaultyRpcParameters): Promise<FaultyRpc> {
  const random = seededRandom(seed)
  let current: FaultRates = { rateLimited: 0, timeout: 0, dropped: 0, latencyMs: 0, ...rates }
  const counts: FaultCounts = { requests: 0, rateLimited: 0, timeout: 0, dropped: 0, logRangeRefused: 0, logResultsRefused: 0 }
  const methods = new Map<string, number>()
  const sockets = new Set<Socket>()
  const held = new Set<NodeJS.Timeout>()

  const upstream = async (body: string): Promise<string> => {
    const response = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
    return response.text()
  }
  const call = async (method: string, params: unknown[]): Promise<unknown> => (JSON.parse(await upstream(JSON.stringify({ jsonrpc: '2.0', id: 0, method, params }))) as { result: unknown }).result

  const blockOf = async (tag: unknown): Promise<bigint> => {
    if (typeof tag === 'string' && tag.startsWith('0x')) return BigInt(tag)
    if (tag === 'earliest') return 0n
    return BigInt((await call('eth_blockNumber', [])) as string)
  }

  /** The refusal a provider gives this eth_getLogs, or null to let it through. */
  const logsRefusal = async (request: RpcRequest, answer: () => Promise<string>): Promise<{ code: number; message: string } | string> => {
    const filter = (request.params?.[0] ?? {}) as { fromBlock?: unknown; toBlock?: unknown; blockHash?: unknown }
    if (filter.blockHash === undefined) {
      const blocks = (await blockOf(filter.toBlock ?? 'latest')) - (await blockOf(filter.fromBlock ?? 'latest')) + 1n
      if (blocks > BigInt(maxLogBlocks)) {
        counts.logRangeRefused++
        return { code: -32602, message: `exceed maximum block range: ${maxLogBlocks}` }
      }
    }
    const text = await answer()
    const results = (JSON.parse(text) as { result?: unknown[] }).result
    if (Array.isArray(results) && results.length > maxLogResults) {
      counts.logResultsRefused++
      return { code: -32005, message: `query returned more than ${maxLogResults} results` }
    }
    return text
  }

  const handle = async (raw: string, res: ServerResponse, socket: Socket): Promise<void> => {
    counts.requests++
    const request = JSON.parse(raw) as RpcRequest | RpcRequest[]
    for (const r of Array.isArray(request) ? request : [request]) methods.set(r.method, (methods.get(r.method) ?? 0) + 1)
    if (current.latencyMs > 0) await new Promise((resolve) => setTimeout(resolve, random() * current.latencyMs))
    const roll = random()
    if (roll < current.rateLimited) {
      counts.rateLimited++
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' })
      res.end(JSON.stringify({ jsonrpc: '2.0', id: Array.isArray(request) ? null : request.id, error: { code: 429, message: 'Too Many Requests: your app has exceeded its compute units per second capacity' } }))
      return
    }
    const dropRoll = roll - current.rateLimited
    if (dropRoll < current.dropped / 2) {
      counts.dropped++
      socket.destroy()
      return
    }
    let answered: Promise<string> | null = null
    const answer = (): Promise<string> => (answered ??= upstream(raw))
    const refusal = !Array.isArray(request) && request.method === 'eth_getLogs' ? await logsRefusal(request, answer) : await answer()
    if (dropRoll < current.dropped) {
      counts.dropped++
      socket.destroy()
      return
    }
    if (dropRoll < current.dropped + current.timeout) {
      counts.timeout++
      const timer = setTimeout(() => {
        held.delete(timer)
        socket.destroy()
      }, holdMs)
      held.add(timer)
      socket.once('close', () => {
        clearTimeout(timer)
        held.delete(timer)
      })
      return
    }
    const body = typeof refusal === 'string' ? refusal : JSON.stringify({ jsonrpc: '2.0', id: (request as RpcRequest).id, error: refusal })
    res.writeHead(200, { 'content-type': 'application/json' })
    res.end(body)
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      handle(Buffer.concat(chunks).toString(), res, req.socket).catch(() => {
        if (!res.headersSent) res.writeHead(502)
        res.end()
      })
    })
  })
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    methods,
    setRates(rates) {
      current = { ...current, ...rates }
    },
    async close() {
      for (const timer of held) clearTimeout(timer)
      for (const socket of sockets) socket.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}
