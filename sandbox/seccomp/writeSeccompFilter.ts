// Writes the compiled filter to a file the job runner opens once per job and hands to bwrap as
// an fd. The name carries the program's hash, so runners sharing a directory never see a
// half-written or stale filter.
import { createHash } from 'node:crypto'
import { readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { seccompFilter } from './seccompFilter.ts'

/** Returns the path of `<dir>/seccomp-<hash>.bpf`, writing it unless an identical file is there. */
export function writeSeccompFilter(dir: string): string {
  const filter = seccompFilter()
  const hash = createHash('sha256').update(filter).digest('hex').slice(0, 16)
  const path = join(dir, `seccomp-${hash}.bpf`)
  try {
    if (readFileSync(path).equals(filter)) return path
  } catch {
    // Not there yet (or unreadable): write it below.
  }
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, filter, { mode: 0o444 })
  renameSync(temporary, path)
  return path
}
