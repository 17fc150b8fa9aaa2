// `sandrun download <job> [path...]`: saves output files (all by default) into a folder, checking
// each against the sha256 the gateway reported. The gateway deletes the job once all are downloaded.
import { parseArgs } from 'node:util'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'
import { saveOutput } from '../../client/saveOutput.ts'
import { saveReceipt } from '../../client/saveReceipt.ts'
import { resultReceiptName } from '../../../verifier/index.ts'

export const description = 'Download a job\'s output files into a folder'

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { gateway: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  const [jobId, ...paths] = positionals
  if (values.help || !jobId) {
    process.stdout.write(`Usage: sandrun download <job> [path...] [--gateway URL] [--out DIR]\n`)
    return values.help ? 0 : 2
  }
  const client = createSandrunClient({ baseUrl: values.gateway ?? defaultGatewayUrl })
  const { outputs } = await client.outputs(jobId)
  const wanted = paths.length ? outputs.filter((o) => paths.includes(o.path)) : outputs
  const missing = paths.filter((p) => !outputs.some((o) => o.path === p))
  if (missing.length) {
    process.stderr.write(`sandrun download: no such output: ${missing.join(', ')}\n`)
    return 1
  }
  const dir = values.out ?? '.'
  // A job whose own output is named like the receipt keeps it; verify then needs --entries.
  if (!outputs.some((o) => o.path === resultReceiptName)) await saveReceipt({ client, jobId, dir })
  for (const file of wanted) {
    const saved = await saveOutput({ dir, outputPath: file.path, content: await client.download(jobId, file.path), sha256: file.sha256_hash })
    process.stdout.write(`${saved}\n`)
  }
  return 0
}
