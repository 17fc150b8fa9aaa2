// submit_job: starts a snippet without waiting, for long jobs the caller checks on later with
// get_job_status / get_logs.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { SandrunClient } from '../../client/sandrunClient.ts'
import { withToolErrors } from '../withToolErrors.ts'
import { jobInputShape, submitParametersOf } from './jobInput.ts'

export function registerSubmitJob(server: McpServer, client: SandrunClient): void {
  server.registerTool(
    'submit_job',
    {
      title: 'Submit a job without waiting',
      description: 'Queues a program in the sandbox and returns its job id at once; follow it with get_job_status (wait: true to block until it ends), get_logs and list_outputs.',
      inputSchema: jobInputShape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    withToolErrors(async (input, extra) => {
      const accepted = await client.submit(submitParametersOf(input, extra.signal))
      return {
        content: [{ type: 'text', text: `job ${accepted.job_id}: ${accepted.status}${accepted.position ? ` (position ${accepted.position})` : ''}` }],
        structuredContent: { ...accepted },
      }
    }),
  )
}
