// Test harness for the sandbox suites: one real sandbox per test file and a `run` that packs a
// few files, runs them as a job and hands back the result with its output as text. Job timeouts
// are scaled by hostSlowdown(). Each run gets
// its own output directory; `close` removes them and the sandbox.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { packFiles, type PackFileContent } from '../../sandbox/bundle/packFiles.ts'
import { createSandbox, type CreateSandboxOptions, type RunJobParameters, type RunJobResult, type Sandbox } from '../../sandbox/index.ts'
import { parseManifest } from '../../sandbox/manifest.ts'
import { hostSlowdown } from '../host/hostSlowdown.ts'

export type JobRunParameters = {
  files: Record<string, PackFileContent>
  /** Raw manifest fields; `entrypoint` defaults to the first file. */
  manifest?: Record<string, unknown>
  /** A ready bundle instead of packing `files` (for malformed tarballs). */
  bundle?: Uint8Array
} & Pick<RunJobParameters, 'limits' | 'signal' | 'onOutput' | 'output' | 'onStart' | 'onUsage' | 'onReporter' | 'cpuWeight'>

export type JobRunResult = RunJobResult & {
  out: string
  err: string
  outputDir: string
  /** The last line of stdout parsed as JSON: attack programs report what they achieved this way. */
  report<T = Record<string, unknown>>(): T
}

export type JobRunner = {
  sandbox: Sandbox
  run(parameters: JobRunParameters): Promise<JobRunResult>
  close(): Promise<void>
}

export async function createJobRunner(options: CreateSandboxOptions = {}): Promise<JobRunner> {
  const sandbox = await createSandbox(options)
  const outputsRoot = mkdtempSync(path.join(tmpdir(), 'sandrun-test-outputs-'))
  return {
    sandbox,
    async run({ files, manifest = {}, bundle, ...rest }) {
      const entrypoint = Object.keys(files)[0]
      const outputDir = mkdtempSync(path.join(outputsRoot, 'job-'))
      const fields: Record<string, unknown> = { entrypoint, timeout: 20, memory_mb: 128, ...manifest }
      // A slow host (the emulated test VM) gets proportionally longer to reach the same point.
      if (typeof fields.timeout === 'number') fields.timeout = Math.min(3600, fields.timeout * hostSlowdown())
      const result = await sandbox.runJob({
        manifest: parseManifest(fields),
        bundle: bundle ?? (await packFiles(files)),
        outputDir,
        ...rest,
      })
      const out = result.stdout.toString('utf8')
      const err = result.stderr.toString('utf8')
      return {
        ...result,
        out,
        err,
        outputDir,
        report<T>() {
          const line = out.trimEnd().split('\n').at(-1) ?? ''
          try {
            return JSON.parse(line) as T
          } catch {
            throw new Error(`The job printed no JSON report (${result.termination}).\nstdout: ${out.slice(-2000)}\nstderr: ${err.slice(-2000)}`)
          }
        },
      }
    },
    async close() {
      await sandbox.close()
      rmSync(outputsRoot, { recursive: true, force: true })
    },
  }
}
