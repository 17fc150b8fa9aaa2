// `sandrun exec <file|dir>`: runs code in the local sandbox without a gateway — streams its output
// live, prints a summary (or JSON), optionally copies output files out, and exits with the job's
// exit code.
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createSandbox, parseManifest } from '../../../sandbox/index.ts'
import { packJob } from '../../client/packJob.ts'

export const description = 'Run a file or folder in the local sandbox and stream its output'

const usage = `Usage: sandrun exec <file|dir> [options] [-- args...]

Options:
  --manifest <json>   manifest fields as JSON (entrypoint, interpreter, env, outputs, limits...)
  --timeout <s>       wall-clock limit in seconds
  --memory-mb <n>     memory limit in MB
  --out <dir>         copy the output files into this folder
  --json              print the result as JSON instead of streaming output
`

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      manifest: { type: 'string' },
      timeout: { type: 'string' },
      'memory-mb': { type: 'string' },
      out: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [target, ...args] = positionals
  if (values.help || !target) {
    process.stdout.write(usage)
    return values.help ? 0 : 2
  }
  if (!existsSync(target)) {
    process.stderr.write(`sandrun exec: ${target} does not exist\n`)
    return 2
  }

  const given: Record<string, unknown> = values.manifest ? (JSON.parse(values.manifest) as Record<string, unknown>) : {}
  const { bundle, manifest: fields } = await packJob({ target, manifest: given })
  if (args.length > 0) fields.args = args
  if (values.timeout) fields.timeout = Number(values.timeout)
  if (values['memory-mb']) fields.memory_mb = Number(values['memory-mb'])
  const manifest = parseManifest(fields)

  const sandbox = await createSandbox()
  const outputDir = mkdtempSync(path.join(os.tmpdir(), 'sandrun-exec-'))
  const abort = new AbortController()
  const onSignal = () => abort.abort()
  process.once('SIGINT', onSignal)
  try {
    const result = await sandbox.runJob({
      manifest,
      bundle,
      outputDir,
      signal: abort.signal,
      onOutput: values.json ? undefined : (stream, chunk) => (stream === 'stdout' ? process.stdout : process.stderr).write(chunk),
    })
    if (values.out) cpSync(outputDir, values.out, { recursive: true })
    if (values.json) {
      const json = {
        exit_code: result.exitCode,
        termination: result.termination,
        cpu_seconds: result.cpuSeconds,
        memory_peak_bytes: result.memoryPeakBytes,
        wall_time_ms: result.wallTimeMs,
        stdout: result.stdout.toString('utf8'),
        stderr: result.stderr.toString('utf8'),
        stdout_truncated: result.stdoutTruncated,
        stderr_truncated: result.stderrTruncated,
        outputs: result.outputs.map((o) => ({ path: o.path, size_bytes: o.sizeBytes, sha256: o.sha256 })),
      }
      process.stdout.write(`${JSON.stringify(json, null, 2)}\n`)
    } else {
      const mb = (result.memoryPeakBytes / 1024 / 1024).toFixed(1)
      const summary = [
        `\n── sandrun: ${result.termination}, exit ${result.exitCode ?? '-'}, ${result.wallTimeMs.toFixed(0)} ms wall, ` +
          `${result.cpuSeconds.toFixed(3)} s CPU, ${mb} MB peak`,
      ]
      if (result.stdoutTruncated || result.stderrTruncated) summary.push('   output truncated at the capture cap')
      for (const o of result.outputs) summary.push(`   output ${o.path} (${o.sizeBytes} bytes)${values.out ? ` -> ${path.join(values.out, o.path)}` : ''}`)
      process.stderr.write(`${summary.join('\n')}\n`)
    }
    if (result.exitCode !== null) return result.exitCode
    return result.termination === 'exited' ? 0 : 124
  } finally {
    process.off('SIGINT', onSignal)
    rmSync(outputDir, { recursive: true, force: true })
    await sandbox.close()
  }
}
