// Runs the `sandrun` CLI as a user would and returns its exit code and output, also when it fails:
// tests assert on what the user sees in each case. `sandrunBin` is the build (dist/bin/sandrun,
// made by test/buildDist.ts before the tests, from the same sources); `sourceBin` runs the sources
// through tsx.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)
export const sourceBin = path.resolve(import.meta.dirname, '../bin/sandrun')
// SANDRUN_TEST_CLI=source: every test runs the sources through tsx instead (slower).
export const sandrunBin = process.env.SANDRUN_TEST_CLI === 'source' ? sourceBin : path.resolve(import.meta.dirname, '../dist/bin/sandrun')

export async function runSandrunCli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await exec(process.execPath, [sandrunBin, ...args], { cwd })) }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
