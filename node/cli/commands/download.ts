// `sandrun download <job> [path...]`: saves output files (all by default) into a folder, checking
// each against the sha256 the gateway reported. The gateway deletes the job once all are downloaded.
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createSandrunClient, defaultGatewayUrl, type SandrunClient } from '../../client/sandrunClient.ts'
import { saveOutput } from '../../client/saveOutput.ts'
import { resultReceiptName } from '../../../verifier/hashOutputsFolder.ts'

/**
 * Saves the job's result entries and ids next to its outputs before downloading them: the gateway
 * deletes a job once every output is downloaded, and `sandrun verify --dir` needs the entries
 * (checked against the chain or the signature there, never trusted) to prove the folder later.
 */
async function writeReceipt(client: SandrunClient, jobId: string, dir: string, outputs: Array<{ path: string }>): Promise<void> {
  if (outputs.some((o) => o.path === resultReceiptName)) return
  let verification: Awaited<ReturnType<SandrunClient['verify']>>
  try {
    verification = await client.verify(jobId)
  } catch {
    return // an older gateway without /verify: outputs still download
  }
  if (!verification.entries) return
  const status = await client.status(jobId)
  const receipt = {
    job_id: jobId,
    job_hash: status.job_hash ?? null,
    worker_metadata: status.worker_metadata ?? null,
    verification: (status as { verification?: unknown }).verification ?? null,
    entries: verification.entries,
  }
  await mkdir(dir, { recursive: true })
  await writeFile(path.join(dir, resultReceiptName), `${JSON.stringify(receipt, null, 2)}\n`)
}

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
  await writeReceipt(client, jobId, dir, outputs)
  for (const file of wanted) {
    const saved = await saveOutput({ dir, outputPath: file.path, content: await client.download(jobId, file.path), sha256: file.sha256_hash })
    process.stdout.write(`${saved}\n`)
  }
  return 0
}
