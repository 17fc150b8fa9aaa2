// `sandrun status <job>`: the job's status as JSON (Sandrun's shape); --wait blocks until it ends.
import { parseArgs } from 'node:util'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'

export const description = 'Show a job\'s status, metadata, result hash and output files'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { gateway: { type: 'string' }, wait: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  const [jobId] = positionals
  if (values.help || !jobId) {
    process.stdout.write(`Usage: sandrun status <job> [--gateway URL] [--wait]\n`)
    return values.help ? 0 : 2
  }
  const client = createSandrunClient({ baseUrl: values.gateway ?? defaultGatewayUrl })
  const status = values.wait ? await client.wait(jobId, { onStatus: (s) => process.stderr.write(`${s.status}\n`) }) : await client.status(jobId)
  process.stdout.write(`${JSON.stringify(status, null, 2)}\n`)
  return 0
}
