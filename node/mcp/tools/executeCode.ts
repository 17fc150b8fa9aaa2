// execute_code: runs a snippet to completion and answers with everything a model needs in one call:
// stdout, stderr, exit code, resource usage, the output file list and, in market mode, the
// verification summary. Progress notifications keep clients that asked for them from timing out.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { SandrunClient } from '../../client/sandrunClient.ts'
import { describeJob } from '../../client/describeJob.ts'
import { describeLogs } from '../describeLogs.ts'
import { withToolErrors } from '../withToolErrors.ts'
import { jobInputShape, submitParametersOf } from './jobInput.ts'

/** Beyond this, a stream is cut in the answer (get_logs has the rest): a model's context is small. */
const inlineLogChars = 64 * 1024

const inline = (text: string): string => text.slice(0, inlineLogChars)

export function registerExecuteCode(server: McpServer, client: SandrunClient): void {
  server.registerTool(
    'execute_code',
    {
      title: 'Run code in the Sandrun sandbox',
      description:
        'Runs a program in an isolated sandbox (no network, limited CPU, memory and time) and waits for it to finish. Returns stdout, stderr, the exit code, CPU/memory/wall usage, the output files it wrote (fetch them with download_output) and, on a market gateway, how the result was verified.',
      inputSchema: jobInputShape,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    withToolErrors(async (input, extra) => {
      const accepted = await client.submit(submitParametersOf(input, extra.signal))
      const progressToken = extra._meta?.progressToken
      let step = 0
      const status = await client
        .wait(accepted.job_id, {
          signal: extra.signal,
          onStatus: (seen) => {
            if (progressToken === undefined) return
            void extra.sendNotification({ method: 'notifications/progress', params: { progressToken, progress: ++step, message: `job ${seen.job_id} ${seen.status}` } }).catch(() => undefined)
          },
        })
        .catch(async (error: unknown) => {
          // A cancelled call should not leave the job running on the caller's quota.
          if (extra.signal.aborted) await client.delete(accepted.job_id).catch(() => undefined)
          throw error
        })
      const logs = await client.logs(accepted.job_id)
      const meta = status.execution_metadata
      const text = `${describeJob(status)}\n${describeLogs({ logs, maxChars: inlineLogChars })}`
      return {
        content: [{ type: 'text', text }],
        structuredContent: {
          job_id: status.job_id,
          status: status.status,
          exit_code: meta?.exit_code ?? null,
          termination: meta?.termination ?? null,
          stdout: inline(logs.stdout),
          stderr: inline(logs.stderr),
          // null figures: nobody measured them; reported_by says who did (market: the workers' median).
          usage: meta
            ? {
                cpu_seconds: meta.cpu_seconds,
                memory_peak_bytes: meta.memory_peak_bytes,
                wall_time_ms: meta.wall_time_ms,
                reported_by: meta.reported_by ?? null,
                stdout_truncated: meta.stdout_truncated ?? false,
                stderr_truncated: meta.stderr_truncated ?? false,
              }
            : null,
          output_files: Object.values(status.output_files).map((f) => ({ path: f.path, size_bytes: f.size_bytes, sha256: f.sha256_hash })),
          result_root: status.job_hash,
          ...(status.verification ? { verification: status.verification } : {}),
          ...(status.error ? { error: status.error } : {}),
        },
      }
    }),
  )
}
