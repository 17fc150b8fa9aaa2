// Runs the `sandrun` CLI (bin/sandrun, through tsx) as a user would and returns its exit code and
// output, also when it fails: tests assert on what the user sees in each case.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'

const exec = promisify(execFile)
export const sandrunBin = path.resolve(import.meta.dirname, '../bin/sandrun')

export async function runSandrunCli(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return { code: 0, ...(await exec(process.execPath, [sandrunBin, ...args], { cwd })) }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}
