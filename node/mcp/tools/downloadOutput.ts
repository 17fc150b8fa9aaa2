// download_output: one output file, inline as text when it is readable text, otherwise as an
// embedded resource (base64 blob) that MCP clients can save or show.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { SandrunClientError } from '../../client/clientError.ts'
import type { SandrunClient } from '../../client/sandrunClient.ts'
import { gatewayJobId } from '../../../verifier/index.ts'
import type { ReceiptStore } from '../receiptStore.ts'
import { withToolErrors } from '../withToolErrors.ts'

/** Larger text is sent as a resource: pasting megabytes into a model's context helps nobody. */
const inlineTextBytes = 256 * 1024
/** An MCP message carries the whole file base64-encoded; beyond this, the CLI is the better tool. */
const maxDownloadBytes = 16 * 1024 * 1024

const mimeTypes: Record<string, string> = {
  txt: 'text/plain', csv: 'text/csv', json: 'application/json', md: 'text/markdown', html: 'text/html', svg: 'image/svg+xml',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp', pdf: 'application/pdf',
  zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar', parquet: 'application/vnd.apache.parquet', npy: 'application/octet-stream',
}

function mimeTypeOf(path: string): string {
  const ext = path.includes('.') ? path.slice(path.lastIndexOf('.') + 1).toLowerCase() : ''
  return mimeTypes[ext] ?? 'application/octet-stream'
}

/** The file as text, or null when it is not valid UTF-8 or holds NUL bytes (a binary file). */
function asText(content: Buffer): string | null {
  if (content.includes(0)) return null
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(content)
  } catch {
    return null
  }
}

export function registerDownloadOutput(server: McpServer, client: SandrunClient, receipts: ReceiptStore): void {
  server.registerTool(
    'download_output',
    {
      title: 'Download an output file',
      description: `One output file of a finished job: text files come back as text, binary files (images, archives...) as an embedded resource. Up to ${maxDownloadBytes / 1024 / 1024} MiB. The gateway deletes a job once all its outputs were downloaded; this server keeps the job's receipt, so verify_result still works after that.`,
      inputSchema: {
        job_id: z.string().describe('The id from submit_job or execute_code.'),
        path: z.string().describe('The output path exactly as list_outputs shows it, e.g. "results/plot.png".'),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    withToolErrors(async ({ job_id, path }) => {
      const jobId = gatewayJobId(job_id)
      const { outputs } = await client.outputs(jobId)
      const file = outputs.find((f) => f.path === path)
      if (!file) {
        const known = outputs.map((f) => f.path).slice(0, 20).join(', ')
        throw new SandrunClientError('NOT_FOUND', `Job ${jobId} has no output "${path.slice(0, 200)}"; ${known ? `its outputs are: ${known}` : 'it has no output files'}.`)
      }
      if (file.size_bytes > maxDownloadBytes) {
        throw new SandrunClientError('REQUEST_INVALID', `${path} is ${file.size_bytes} bytes, more than ${maxDownloadBytes} can travel in an MCP message; download it with \`sandrun download ${jobId}\`.`)
      }
      // Before the bytes: the last download makes the gateway delete the job and its entries.
      await receipts.keep(jobId)
      const content = await client.download(jobId, path)
      const uri = `sandrun://jobs/${encodeURIComponent(jobId)}/outputs/${path.split('/').map(encodeURIComponent).join('/')}`
      const text = content.length <= inlineTextBytes ? asText(content) : null
      if (text !== null) return { content: [{ type: 'text', text }] }
      return {
        content: [
          { type: 'text', text: `${path}: ${content.length} bytes, ${mimeTypeOf(path)}, sha256 ${file.sha256_hash} (attached as a resource)` },
          { type: 'resource', resource: { uri, mimeType: mimeTypeOf(path), blob: content.toString('base64') } },
        ],
      }
    }),
  )
}
