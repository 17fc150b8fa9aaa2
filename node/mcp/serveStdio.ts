// MCP over stdio, the way desktop assistants start local tools: one server for the life of the
// process, stdout reserved for protocol messages (diagnostics go to stderr).
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import type { SandrunClient } from '../client/sandrunClient.ts'
import { createMcpServer } from './createMcpServer.ts'

export type ServeStdioParameters = { client: SandrunClient }

/** Resolves once the client has closed stdin (the session is over). */
export async function serveStdio({ client }: ServeStdioParameters): Promise<void> {
  const server = createMcpServer({ client })
  const transport = new StdioServerTransport()
  const closed = new Promise<void>((resolve) => {
    transport.onclose = resolve
    process.stdin.once('end', resolve)
  })
  await server.connect(transport)
  await closed
  await server.close()
}
