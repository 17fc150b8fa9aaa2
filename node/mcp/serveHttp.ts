// MCP over Streamable HTTP at POST /mcp, stateless: each request gets a fresh server and transport,
// so nothing is kept between calls and any number of clients can share one process. Host headers
// are checked (DNS rebinding) whenever it listens on loopback.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { SandrunClient } from '../client/sandrunClient.ts'
import { createMcpServer } from './createMcpServer.ts'
import { createReceiptStore } from './receiptStore.ts'

export type ServeHttpParameters = {
  client: SandrunClient
  /** Chain RPC for verify_result on kept market receipts. */
  rpcUrl?: string | undefined
  host: string
  /** 0 picks a free port. */
  port: number
}

export type ServeHttpReturnType = { url: string; close(): Promise<void> }

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1'])

function sendJsonRpcError(response: http.ServerResponse, status: number, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }))
}

export async function serveHttp({ client, host, port, rpcUrl }: ServeHttpParameters): Promise<ServeHttpReturnType> {
  // One store for the process: each request gets a fresh server, a receipt must outlive it.
  const receipts = createReceiptStore({ client, rpcUrl })
  let allowedHosts: string[] | undefined
  const server = http.createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0]
    if (path !== '/mcp') return sendJsonRpcError(response, 404, 'Not found: the MCP endpoint is POST /mcp.')
    if (request.method !== 'POST') return sendJsonRpcError(response, 405, 'This server is stateless: send MCP requests with POST /mcp.')
    const mcp = createMcpServer({ client, receipts })
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableDnsRebindingProtection: allowedHosts !== undefined, allowedHosts })
    response.once('close', () => {
      void transport.close().catch(() => undefined)
      void mcp.close().catch(() => undefined)
    })
    mcp
      .connect(transport)
      .then(() => transport.handleRequest(request, response))
      .catch(() => {
        if (!response.headersSent) sendJsonRpcError(response, 500, 'Internal error')
      })
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, resolve)
  })
  const bound = (server.address() as AddressInfo).port
  if (loopbackHosts.has(host)) allowedHosts = [...loopbackHosts].map((h) => `${h.includes(':') ? `[${h}]` : h}:${bound}`)
  const shown = host.includes(':') ? `[${host}]` : host
  return {
    url: `http://${shown}:${bound}/mcp`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
