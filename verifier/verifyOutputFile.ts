// Checks one downloaded file against a result root (the consensus root read from the chain): with
// an RFC 6962 inclusion proof, or with the result's entry list from which the proof is rebuilt.
// Whoever served the file, proof or entries is untrusted: only the root is.
import { sha256 } from '@noble/hashes/sha2.js'
import { resultEntry, type ResultEntryInput } from './canonicalResultEntries.ts'
import { bytesToHex } from './hex.ts'
import { resultProof, resultRoot, verifyResultFile, type ResultProof } from './resultRoot.ts'

export type VerifyOutputFileCode = 'VERIFIED' | 'CONTENT_MISMATCH' | 'WRONG_PATH' | 'NOT_IN_RESULT' | 'NAME_INVALID' | 'PROOF_INVALID' | 'ENTRIES_MISMATCH'

export type VerifyOutputFileParameters = {
  /** The trusted root: 0x + 64 hex digits. */
  root: string
  /** Entry name the file is claimed to be: `outputs/<path>`, or `stdout`, `stderr`, `exit`. */
  name: string
} & (
  | { content: Uint8Array }
  /** The file's sha256 (0x + 64 hex digits) and size, for a file hashed as it streamed in. */
  | { digest: { sha256: string; size: number } }
) &
  ({ proof: ResultProof } | { entries: readonly ResultEntryInput[] })

export type VerifyOutputFileReturnType = {
  verified: boolean
  code: VerifyOutputFileCode
  /** One sentence for a person: what matched, or what is wrong. */
  reason: string
  /** WRONG_PATH: the entry this content really is. */
  expectedName?: string
}

function rootOf(entries: readonly ResultEntryInput[]): string | null {
  try {
    return resultRoot(entries)
  } catch {
    return null
  }
}

export function verifyOutputFile(parameters: VerifyOutputFileParameters): VerifyOutputFileReturnType {
  const { root, name } = parameters
  const hash = 'content' in parameters ? bytesToHex(sha256(parameters.content)) : `0x${parameters.digest.sha256.replace(/^0x/, '').toLowerCase()}`
  const size = 'content' in parameters ? parameters.content.length : parameters.digest.size
  try {
    resultEntry({ name, sha256: hash, size })
  } catch {
    return { verified: false, code: 'NAME_INVALID', reason: `${JSON.stringify(name)} is not an entry name; output files are named outputs/<relative path>` }
  }
  if ('proof' in parameters) {
    return verifyResultFile({ root, name, proof: parameters.proof, sha256: hash, size })
      ? { verified: true, code: 'VERIFIED', reason: `${name} is part of the result with root ${root}` }
      : { verified: false, code: 'PROOF_INVALID', reason: `${name} does not match root ${root} with this proof: its content, its path or the proof is wrong` }
  }
  const { entries } = parameters
  if (rootOf(entries)?.toLowerCase() !== root.toLowerCase()) {
    return { verified: false, code: 'ENTRIES_MISMATCH', reason: `the result entries supplied with the file do not hash to root ${root}: whoever served them altered the result` }
  }
  // The entries are now as trustworthy as the root; the proof only restates that, and is checked anyway.
  const same = entries.find((e) => e.name !== name && e.sha256.replace(/^0x/, '').toLowerCase() === hash.slice(2) && e.size === size)
  const claimed = entries.find((e) => e.name === name)
  if (claimed && verifyResultFile({ root, name, proof: resultProof(entries, name), sha256: hash, size })) {
    return { verified: true, code: 'VERIFIED', reason: `${name} (sha256 ${hash}) is part of the result with root ${root}` }
  }
  if (same) {
    return { verified: false, code: 'WRONG_PATH', reason: `this content is ${same.name} of the result, not ${name}`, expectedName: same.name }
  }
  if (!claimed) return { verified: false, code: 'NOT_IN_RESULT', reason: `the result with root ${root} has no ${name}` }
  return { verified: false, code: 'CONTENT_MISMATCH', reason: `${name} was changed: the result has sha256 ${resultEntry(claimed).sha256}, this file has ${hash}` }
}
