// MCP over stdio, the way desktop assistants start local tools: one server for the life of the
// process, stdout reserved for protocol messages (diagnostics go to stderr).
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { SandrunClient } from '../client/sandrunClient.ts'
import { createMcpServer } from './createMcpServer.ts'
import { createReceiptStore } from './receiptStore.ts'

export type ServeStdioParameters = { client: SandrunClient; /** Chain RPC for verify_result on kept market receipts. */ rpcUrl?: string | undefined }

/** Resolves once the client has closed stdin (the session is over). */
export async function serveStdio({ client, rpcUrl }: ServeStdioParameters): Promise<void> {
  const server = createMcpServer({ client, receipts: createReceiptStore({ client, rpcUrl }) })
  const transport = new StdioServerTransport()
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve
    process.stdin.once('end', resolve)
  })
  await server.connect(transport)
  await closed
  await server.close()
}
