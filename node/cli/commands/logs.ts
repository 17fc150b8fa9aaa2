// `sandrun logs <job>`: prints the job's output so far; --follow streams it live until the job ends.
import { parseArgs } from 'node:util'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'

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
    for await (const message of client.streamLogs(jobId)) {
      if (message.type === 'output') (message.stream === 'stdout' ? process.stdout : process.stderr).write(message.data)
      else process.stderr.write(`[${message.status.status}]\n`)
    }
    return 0
  }
  const logs = await client.logs(jobId)
  process.stdout.write(logs.stdout)
  process.stderr.write(logs.stderr)
  return 0
}
