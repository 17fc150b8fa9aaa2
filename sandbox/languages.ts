// The interpreters a job may use and how to find them on this host. The sandbox only sees /usr,
// so only interpreters under /usr count; their versions feed `sandrun doctor` and the
// environment digest.
import { execFile } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import type { InterpreterInfo } from './sandbox.ts'
import type { InterpreterName } from './types.ts'

type InterpreterSpec = {
  name: InterpreterName
  /** Candidate binaries, first found wins. System paths only: a pyenv shim would be slow and outside /usr. */
  candidates: string[]
  versionArgs: string[]
  /** Debian package that provides it, for `sandrun doctor` hints. */
  debianPackage: string
}

export const interpreterSpecs: readonly InterpreterSpec[] = [
  { name: 'python3', candidates: ['/usr/bin/python3'], versionArgs: ['--version'], debianPackage: 'python3' },
  { name: 'node', candidates: ['/usr/bin/node', '/usr/local/bin/node'], versionArgs: ['--version'], debianPackage: 'nodejs' },
  { name: 'bash', candidates: ['/usr/bin/bash', '/bin/bash'], versionArgs: ['--version'], debianPackage: 'bash' },
  { name: 'sh', candidates: ['/usr/bin/sh', '/bin/sh'], versionArgs: [], debianPackage: 'dash' },
  { name: 'ruby', candidates: ['/usr/bin/ruby'], versionArgs: ['--version'], debianPackage: 'ruby' },
  { name: 'Rscript', candidates: ['/usr/bin/Rscript'], versionArgs: ['--version'], debianPackage: 'r-base-core' },
  { name: 'perl', candidates: ['/usr/bin/perl'], versionArgs: ['-e', 'print $^V'], debianPackage: 'perl' },
  { name: 'php', candidates: ['/usr/bin/php'], versionArgs: ['-r', 'echo PHP_VERSION;'], debianPackage: 'php-cli' },
]

function findBinary(candidates: string[]): string | undefined {
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // try the next one
    }
  }
  return undefined
}

function readVersion(binary: string, args: string[]): Promise<string | null> {
  if (args.length === 0) return Promise.resolve('posix')
  return new Promise((resolve) => {
    // Generous: on a slow or busy host (an emulated VM) eight interpreters starting at once take a while.
    execFile(binary, args, { timeout: 60_000, env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' } }, (error, stdout, stderr) => {
      if (error) return resolve(null)
      const text = `${stdout}${stderr}`.trim().split('\n')[0] ?? ''
      resolve(text.trim() || null)
    })
  })
}

/** Finds every known interpreter and asks each for its version (in parallel, once at start-up). */
export async function detectInterpreters(): Promise<InterpreterInfo[]> {
  return Promise.all(
    interpreterSpecs.map(async (spec) => {
      const binary = findBinary(spec.candidates)
      if (!binary) return { name: spec.name, path: spec.candidates[0]!, available: false, version: null }
      const version = await readVersion(binary, spec.versionArgs)
      return { name: spec.name, path: binary, available: version !== null, version }
    }),
  )
}
