// The Sandrun MCP server: the tools an AI assistant uses to run code through a gateway, all built
// on the one HTTP client. Transport-agnostic; serveStdio and serveHttp connect it.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { SandrunClient } from '../client/sandrunClient.ts'
import { createReceiptStore, type ReceiptStore } from './receiptStore.ts'
import { registerDownloadOutput } from './tools/downloadOutput.ts'
import { registerExecuteCode } from './tools/executeCode.ts'
import { registerGetJobStatus } from './tools/getJobStatus.ts'
import { registerGetLogs } from './tools/getLogs.ts'
import { registerListOutputs } from './tools/listOutputs.ts'
import { registerSubmitJob } from './tools/submitJob.ts'
import { registerVerifyResult } from './tools/verifyResult.ts'

export type CreateMcpServerParameters = {
  client: SandrunClient
  /** Reported to MCP clients in the handshake. */
  version?: string | undefined
  /** Receipts kept at download, shared by every session of the process (default: this server's own). */
  receipts?: ReceiptStore | undefined
}

export function createMcpServer({ client, version = '0.1.0', receipts = createReceiptStore({ client }) }: CreateMcpServerParameters): McpServer {
  const server = new McpServer(
    { name: 'sandrun', version },
    {
      instructions:
        'Sandrun runs code in an isolated sandbox without network access. Use execute_code for short programs; submit_job + get_job_status for long ones. Output files are deleted once all were downloaded.',
    },
  )
  registerExecuteCode(server, client)
  registerSubmitJob(server, client)
  registerGetJobStatus(server, client)
  registerGetLogs(server, client)
  registerListOutputs(server, client)
  registerDownloadOutput(server, client, receipts)
  registerVerifyResult(server, client, receipts)
  return server
}
