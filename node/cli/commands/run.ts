// `sandrun run <file|dir>`: packs the code, submits it to a gateway, streams its output live,
// downloads the output files into a folder and prints a summary. Exits with the job's exit code.
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { packJob } from '../../client/packJob.ts'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'
import { saveOutput } from '../../client/saveOutput.ts'

export const description = 'Submit a file or folder to a gateway, stream its output, download its results'

const usage = `Usage: sandrun run <file|dir> [options] [-- args...]

Options:
  --gateway <url>     gateway to use (default ${defaultGatewayUrl})
  --manifest <json>   manifest fields as JSON (entrypoint, interpreter, env, outputs, limits...)
  --interpreter <n>   interpreter (default: from the entrypoint's extension)
  --timeout <s>       wall-clock limit in seconds
  --memory-mb <n>     memory limit in MB
  --out <dir>         folder for the output files (default ./sandrun-<job id prefix>)
  --quiet             no progress lines on stderr
`

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
    process.stderr.write('sandrun run: no entrypoint; put job.json in the folder or pass --manifest \'{"entrypoint":"main.py"}\'\n')
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

  let final = null
  for await (const message of client.streamLogs(accepted.job_id)) {
    if (message.type === 'output') (message.stream === 'stdout' ? process.stdout : process.stderr).write(message.data)
    else final = message.status
  }
  final ??= await client.wait(accepted.job_id)

  const outputs = Object.values(final.output_files)
  const outDir = values.out ?? `sandrun-${accepted.job_id.replace(/^job-/, '').slice(0, 8)}`
  for (const file of outputs) {
    await saveOutput({ dir: outDir, outputPath: file.path, content: await client.download(accepted.job_id, file.path), sha256: file.sha256_hash })
  }
  const meta = final.execution_metadata
  progress(
    [
      `job ${final.job_id} ${final.status}`,
      meta ? `exit ${meta.exit_code ?? '-'} (${meta.termination}), ${meta.wall_time_ms.toFixed(0)} ms wall, ${meta.cpu_seconds.toFixed(3)} s CPU, ${(meta.memory_peak_bytes / 1024 / 1024).toFixed(1)} MiB peak` : (final.error ?? ''),
      outputs.length ? `${outputs.length} output file(s) in ${outDir}/` : 'no output files',
      final.job_hash ? `result root ${final.job_hash}` : '',
    ]
      .filter(Boolean)
      .join('\n'),
  )
  if (final.status === 'completed') return 0
  return meta?.exit_code && meta.exit_code > 0 ? meta.exit_code : 1
}
