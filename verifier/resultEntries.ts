// Turns one run's result into the entries the result root commits to: exit, stdout, stderr and one
// outputs/<path> entry per collected file. Only sums and sizes are kept, so the same entries can be
// sent to a peer or a verifier without the content.
import { createHash } from 'node:crypto'
import type { RunJobResult } from '../sandbox/types.ts'
import { canonicalResultEntries, type ResultEntry } from './canonicalResultEntries.ts'
import { VerifierError } from './errors.ts'

export type ResultEntriesParameters = {
  /** Exit code 0-255 of the entrypoint; null when it did not exit by itself (killed by a signal). */
  exitCode: RunJobResult['exitCode']
  /** `exited`, `signaled:N`, `timeout`, `oom`, `cpu_limit` or `cancelled`. */
  termination: RunJobResult['termination'] | (string & {})
  stdout: Uint8Array
  stderr: Uint8Array
  /** Collected files; `sha256` may be bare or 0x hex. */
  outputs: ReadonlyArray<{ path: string; sha256: string; sizeBytes: number }>
}

export type ResultEntriesReturnType = ResultEntry[]

const terminationPattern = /^(exited|signaled:([1-9][0-9]?)|timeout|oom|cpu_limit|cancelled)$/

/**
 * The content of the `exit` entry: `"<code>:<termination>"`, UTF-8, e.g. `"0:exited"`,
 * `"1:exited"`, `"null:signaled:9"`, `"137:timeout"`. A null exit code is written as the word
 * `null` rather than a made-up number, so it can never be confused with a real exit status.
 */
export function exitEntryContent(exitCode: number | null, termination: string): string {
  const match = terminationPattern.exec(termination)
  const signal = match?.[2] === undefined ? undefined : Number(match[2])
  if (!match || (signal !== undefined && signal > 64)) {
    throw new VerifierError('RESULT_INVALID', `Termination ${JSON.stringify(termination)} is unknown.`, {
      details: 'use exited, signaled:N (N = 1..64), timeout, oom, cpu_limit or cancelled',
    })
  }
  if (exitCode !== null && (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255)) {
    throw new VerifierError('RESULT_INVALID', `Exit code ${exitCode} is out of range; use 0..255, or null when there is none.`)
  }
  if (exitCode === null && termination === 'exited') {
    throw new VerifierError('RESULT_INVALID', 'A process that "exited" has an exit code; pass it instead of null.')
  }
  return `${exitCode === null ? 'null' : exitCode}:${termination}`
}

function contentEntry(name: string, content: Uint8Array): { name: string; sha256: string; size: number } {
  return { name, sha256: `0x${createHash('sha256').update(content).digest('hex')}`, size: content.length }
}

/** The sorted, checked entries of one result (see canonicalResultEntries for the encoding). */
export function resultEntries({ exitCode, termination, stdout, stderr, outputs }: ResultEntriesParameters): ResultEntriesReturnType {
  return canonicalResultEntries([
    contentEntry('exit', Buffer.from(exitEntryContent(exitCode, termination), 'utf8')),
    contentEntry('stdout', stdout),
    contentEntry('stderr', stderr),
    ...outputs.map((file) => ({ name: `outputs/${file.path}`, sha256: file.sha256, size: file.sizeBytes })),
  ])
}
