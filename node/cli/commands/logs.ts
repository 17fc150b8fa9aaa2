// `sandrun logs <job>`: prints the job's output so far; --follow streams it live until the job ends.
import { parseArgs } from 'node:util'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'
import { printLogMessage } from '../printLogMessage.ts'

export const description = 'Print a job\'s output (--follow to stream it live)'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { gateway: { type: 'string' }, follow: { type: 'boolean', short: 'f' }, help: { type: 'boolean', short: 'h' } } })
  const [jobId] = positionals
  if (values.help || !jobId) {
    process.stdout.write(`Usage: sandrun logs <job> [--gateway URL] [--follow]\n`)
    return values.help ? 0 : 2
  }
  const client = createSandrunClient({ baseUrl: values.gateway ?? defaultGatewayUrl })
  if (values.follow) {
    const written = { stdout: 0, stderr: 0 }
    for await (const message of client.streamLogs(jobId)) {
      if (message.type === 'end') process.stderr.write(`[${message.status.status}]\n`)
      else printLogMessage(message, written)
    }
    return 0
  }
  const logs = await client.logs(jobId)
  process.stdout.write(logs.stdout)
  process.stderr.write(logs.stderr)
  for (const stream of ['stdout', 'stderr'] as const) {
    if (logs[`${stream}_truncated`]) printLogMessage({ type: 'truncated', stream, cap_bytes: Buffer.byteLength(logs[stream]) }, { stdout: 0, stderr: 0 })
  }
  return 0
}
