// Checks fetched result files against the entry list they came with: every entry's content is
// present and hashes to its sha256 and size. Run it before computing the root from the entries and
// comparing with the chain; a mismatch means the serving worker lied (penalise it, fetch elsewhere).
import { createHash } from 'node:crypto'
import { P2pError } from './errors.ts'
import type { JobResultPayload } from './resultService.ts'

export type CheckResultFilesParameters = JobResultPayload & {
  /** Entries whose content is optional (e.g. when only some outputs were asked for). Default: none. */
  optional?: (name: string) => boolean
}

/** Throws HASH_MISMATCH (penalize) naming the first file that is missing or does not match. */
export function checkResultFiles({ entries, files, optional = () => false }: CheckResultFilesParameters): void {
  const contents = new Map(files.map((file) => [file.name, file.content]))
  for (const entry of entries) {
    const content = contents.get(entry.name)
    if (content === undefined) {
      if (optional(entry.name)) continue
      throw new P2pError('HASH_MISMATCH', `The result has no content for entry "${entry.name}"; fetch it from another worker.`, { penalize: true })
    }
    const sha256 = `0x${createHash('sha256').update(content).digest('hex')}`
    if (sha256 !== entry.sha256 || content.byteLength !== entry.size) {
      throw new P2pError('HASH_MISMATCH', `The content of "${entry.name}" does not match its entry (sha256/size); fetch it from another worker.`, { penalize: true })
    }
  }
}
