// The HTTP transport every node and `sandrun verify` reach the chain with: public RPC providers
// rate-limit (429), time out and drop connections, so transient failures are retried with
// exponential backoff (viem retries 429, 5xx, timeouts and dropped connections; it honours
// Retry-After) for about 15 s in all before the caller sees the error. Requests go through
// rpcFetch.ts (node:http on kept-alive connections), not Node's fetch.
import { http, type HttpTransport } from 'viem'
import { rpcFetch } from './rpcFetch.ts'

export type ChainTransportOptions = {
  /** Milliseconds before one request counts as timed out; default 10 s. */
  timeoutMs?: number
}

// 250 ms doubling: 0.25 + 0.5 + 1 + 2 + 4 + 8 s of waiting over 6 retries.
const retryCount = 6
const retryDelayMs = 250

export function chainTransport(rpcUrl: string, { timeoutMs = 10_000 }: ChainTransportOptions = {}): HttpTransport {
  return http(rpcUrl, { retryCount, retryDelay: retryDelayMs, timeout: timeoutMs, fetchFn: rpcFetch })
}
