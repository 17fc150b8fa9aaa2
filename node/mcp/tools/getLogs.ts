// get_logs: a job's stdout and stderr so far (the whole capture, also while it runs).
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import type { SandrunClient } from '../../client/sandrunClient.ts'
import { describeLogs } from '../describeLogs.ts'
import { withToolErrors } from '../withToolErrors.ts'

export function registerGetLogs(server: McpServer, client: SandrunClient): void {
  server.registerTool(
    'get_logs',
    {
      title: 'Job output',
      description: 'The stdout and stderr a job has written so far.',
      inputSchema: { job_id: z.string().describe('The id from submit_job or execute_code.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    withToolErrors(async ({ job_id: jobId }) => {
      const logs = await client.logs(jobId)
      return { content: [{ type: 'text', text: describeLogs({ logs }) }], structuredContent: { ...logs } }
    }),
  )
}
