// get_job_status: one job's state, exit, usage, outputs and verification; optionally waits (long
// poll) until the job ends so a model does not have to poll.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import type { SandrunClient } from '../../client/sandrunClient.ts'
import { describeJob } from '../../client/describeJob.ts'
import { withToolErrors } from '../withToolErrors.ts'

export function registerGetJobStatus(server: McpServer, client: SandrunClient): void {
  server.registerTool(
    'get_job_status',
    {
      title: 'Job status',
      description: 'The state of a job (queued, running, completed, failed), its exit code and resource usage, its output files, its result root and, on a market gateway, its verification.',
      inputSchema: {
        job_id: z.string().describe('The id from submit_job or execute_code.'),
        wait: z.boolean().optional().describe('Wait until the job has finished before answering.'),
      },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    withToolErrors(async ({ job_id: jobId, wait }, extra) => {
      const status = wait ? await client.wait(jobId, { signal: extra.signal }) : await client.status(jobId, { signal: extra.signal })
      return { content: [{ type: 'text', text: describeJob(status) }], structuredContent: { ...status } }
    }),
  )
}
