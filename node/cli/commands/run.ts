// `sandrun run <file|dir>`: packs the code, submits it to a gateway, streams its output live,
// saves the receipt and downloads the output files into a folder, and prints a summary with the
// command that verifies the folder later. Exits with the job's exit code (124 on a timeout, as exec).
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { describeExecution } from '../../client/describeExecution.ts'
import { packJob } from '../../client/packJob.ts'
import { createSandrunClient, defaultGatewayUrl, type GatewayJobId, type JobStatusBody, type SandrunClient } from '../../client/sandrunClient.ts'
import { saveOutput } from '../../client/saveOutput.ts'
import { saveReceipt } from '../../client/saveReceipt.ts'
import { printLogMessage } from '../printLogMessage.ts'
import { errorMessageOf } from '../../../errors/index.ts'

export const description = 'Submit a file or folder to a gateway, stream its output, download its results'

const usage = `Usage: sandrun run <file|dir> [options] [-- args...]

Options:
  --gateway <url>     gateway to use (default ${defaultGatewayUrl})
  --manifest <json>   manifest fields as JSON (entrypoint, interpreter, env, outputs, limits...)
  --interpreter <n>   interpreter (default: from the entrypoint's extension)
  --timeout <s>       wall-clock limit in seconds
  --memory-mb <n>     memory limit in MB
  --out <dir>         folder for the output files and the receipt (default ./sandrun-<job id prefix>)
  --quiet             no progress lines on stderr

A folder without job.json runs its main.* file (main.py, main.js, main.sh...).
Exit status: the job's exit code; 124 when it timed out; 1 when it failed otherwise.
`

/** Streams the job's log to the terminal; when the stream breaks, prints the rest from /logs once the job ends. */
async function showOutput(client: SandrunClient, jobId: GatewayJobId): Promise<JobStatusBody> {
  const written = { stdout: 0, stderr: 0 }
  try {
    for await (const message of client.streamLogs(jobId)) {
      if (message.type === 'end') return message.status
      printLogMessage(message, written)
    }
  } catch (error) {
    process.stderr.write(`\n[sandrun] the live log stream broke (${errorMessageOf(error)}); the rest of the output follows when the job ends.\n`)
  }
  const final = await client.wait(jobId)
  const logs = await client.logs(jobId)
  process.stdout.write(Buffer.from(logs.stdout).subarray(written.stdout))
  process.stderr.write(Buffer.from(logs.stderr).subarray(written.stderr))
  for (const stream of ['stdout', 'stderr'] as const) {
    if (logs[`${stream}_truncated`]) printLogMessage({ type: 'truncated', stream, cap_bytes: Buffer.byteLength(logs[stream]) }, written)
  }
  return final
}

/** The exact command that checks the downloaded folder later, against the chain or the signature. */
async function verifyCommand(client: SandrunClient, final: JobStatusBody, outDir: string): Promise<string[]> {
  const v = final.verification
  if (!v?.job_id) return [`verify later:  sandrun verify ${final.job_id} --dir ${outDir} --gateway ${client.baseUrl}`]
  const chain = (await client.health().catch(() => null)) as { chain?: { rpc_url?: string | null } } | null
  const rpc = chain?.chain?.rpc_url ?? `<RPC-URL-of-chain-${v.chain_id}>`
  return [`on-chain job ${v.job_id} (chain ${v.chain_id}, market ${v.market})`, `verify later:  sandrun verify ${final.job_id} --dir ${outDir} --rpc ${rpc} --market ${v.market}`]
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      gateway: { type: 'string' },
      manifest: { type: 'string' },
      interpreter: { type: 'string' },
      timeout: { type: 'string' },
      'memory-mb': { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [target, ...args] = positionals
  if (values.help || !target) {
    process.stdout.write(usage)
    return values.help ? 0 : 2
  }
  if (!existsSync(target)) {
    process.stderr.write(`sandrun run: ${target} does not exist\n`)
    return 2
  }
  const progress = (line: string): void => {
    if (!values.quiet) process.stderr.write(`${line}\n`)
  }

  const { bundle, manifest } = await packJob({ target, manifest: values.manifest ? (JSON.parse(values.manifest) as Record<string, unknown>) : {} })
  if (args.length > 0) manifest.args = args
  if (values.interpreter) manifest.interpreter = values.interpreter
  if (values.timeout) manifest.timeout = Number(values.timeout)
  if (values['memory-mb']) manifest.memory_mb = Number(values['memory-mb'])
  if (!manifest.entrypoint) {
    process.stderr.write(`sandrun run: no entrypoint in ${target}: add a main.py (or main.js, main.sh...), put job.json in the folder, or pass --manifest '{"entrypoint":"run.py"}'\n`)
    return 2
  }

  const client = createSandrunClient({ baseUrl: values.gateway ?? defaultGatewayUrl })
  let lastPercent = -1
  const accepted = await client.submit({
    bundle,
    manifest,
    onUploadProgress: (sent, total) => {
      const percent = Math.floor((sent / total) * 100)
      if (percent >= lastPercent + 25 || sent === total) {
        lastPercent = percent
        progress(`uploading ${percent}% of ${(total / 1024).toFixed(1)} KiB`)
      }
    },
  })
  progress(`job ${accepted.job_id} ${accepted.status}${accepted.position ? ` (position ${accepted.position})` : ''}`)

  const final = await showOutput(client, accepted.job_id)
  const outputs = Object.values(final.output_files)
  const outDir = values.out ?? `sandrun-${accepted.job_id.replace(/^job-/, '').slice(0, 8)}`
  // Before the downloads: the last one makes the gateway delete the job, and with it the entries.
  const receipt = await saveReceipt({ client, jobId: accepted.job_id, dir: outDir, status: final })
  for (const [index, file] of outputs.entries()) {
    await saveOutput({ dir: outDir, outputPath: file.path, content: await client.download(accepted.job_id, file.path), sha256: file.sha256_hash })
    if (outputs.length > 3) progress(`downloaded ${index + 1}/${outputs.length} output files`)
  }
  const meta = final.execution_metadata
  progress(
    [
      `job ${final.job_id} ${final.status}`,
      meta ? describeExecution(meta) : (final.error ?? ''),
      outputs.length ? `${outputs.length} output file(s) in ${outDir}/` : 'no output files',
      final.job_hash ? `result root ${final.job_hash}` : '',
      ...(receipt ? [`receipt ${receipt}`, ...(await verifyCommand(client, final, outDir))] : []),
    ]
      .filter(Boolean)
      .join('\n'),
  )
  if (final.status === 'completed') return 0
  if (meta?.termination === 'timeout') return 124
  return meta?.exit_code && meta.exit_code > 0 ? meta.exit_code : 1
}
