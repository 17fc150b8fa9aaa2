// `sandrun outputs <job>`: lists the job's output files with size and sha256.
import { parseArgs } from 'node:util'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'

export const description = 'List a job\'s output files'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { gateway: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  const [jobId] = positionals
  if (values.help || !jobId) {
    process.stdout.write(`Usage: sandrun outputs <job> [--gateway URL] [--json]\n`)
    return values.help ? 0 : 2
  }
  const { outputs } = await createSandrunClient({ baseUrl: values.gateway ?? defaultGatewayUrl }).outputs(jobId)
  if (values.json) process.stdout.write(`${JSON.stringify(outputs, null, 2)}\n`)
  else if (outputs.length === 0) process.stderr.write(`job ${jobId} has no output files\n`)
  else for (const file of outputs) process.stdout.write(`${String(file.size_bytes).padStart(10)}  ${file.sha256_hash}  ${file.path}\n`)
  return 0
}
