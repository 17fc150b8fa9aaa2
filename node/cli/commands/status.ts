// `sandrun status <job>`: the job's status in words (--json: Sandrun's JSON shape); --wait blocks until it ends.
import { parseArgs } from 'node:util'
import { describeJob } from '../../client/describeJob.ts'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'

export const description = 'Show a job\'s status, metadata, result hash and output files'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { gateway: { type: 'string' }, wait: { type: 'boolean' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  const [jobId] = positionals
  if (values.help || !jobId) {
    process.stdout.write(`Usage: sandrun status <job> [--gateway URL] [--wait] [--json]\n`)
    return values.help ? 0 : 2
  }
  const client = createSandrunClient({ baseUrl: values.gateway ?? defaultGatewayUrl })
  const status = values.wait ? await client.wait(jobId, { onStatus: (s) => process.stderr.write(`${s.status}\n`) }) : await client.status(jobId)
  process.stdout.write(values.json ? `${JSON.stringify(status, null, 2)}\n` : `${describeJob(status)}\n`)
  return 0
}
