// list_outputs: the files a finished job wrote, with sizes and sha256, to pick what to download.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import type { SandrunClient } from '../../client/sandrunClient.ts'
import { withToolErrors } from '../withToolErrors.ts'

export function registerListOutputs(server: McpServer, client: SandrunClient): void {
  server.registerTool(
    'list_outputs',
    {
      title: 'Output files of a job',
      description: 'Lists the files a job wrote under /work (path, size, sha256); fetch one with download_output.',
      inputSchema: { job_id: z.string().describe('The id from submit_job or execute_code.') },
      annotations: { readOnlyHint: true, openWorldHint: false },
    },
    withToolErrors(async ({ job_id: jobId }) => {
      const { outputs } = await client.outputs(jobId)
      const text = outputs.length ? outputs.map((f) => `${f.path}  ${f.size_bytes} bytes  sha256 ${f.sha256_hash}`).join('\n') : 'No output files (yet: a job lists its outputs once it has finished).'
      return { content: [{ type: 'text', text }], structuredContent: { job_id: jobId, outputs } }
    }),
  )
}
