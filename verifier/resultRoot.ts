// The result root (docs/verify.md, "What is committed") and proofs that one file belongs to it: the RFC 6962 Merkle
// tree hash over the result's canonical entries, and audit paths a verifier checks against the root
// read from the chain without trusting whoever served the file.
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalResultEntries, resultEntry, type ResultEntryInput } from './canonicalResultEntries.ts'
import { VerifierError } from './errors.ts'
import { bytesToHex, hexToBytes, type Hex } from './hex.ts'
import { auditPath, leafHash, mth, verifyInclusion } from './merkle.ts'

export type ResultProof = {
  /** Position of the entry in name order. */
  leafIndex: number
  /** Number of entries in the result. */
  treeSize: number
  /** RFC 6962 audit path, leaf to root, as 0x hex. */
  path: Hex[]
}

function leafDataBytes(leafData: Hex): Uint8Array {
  return Buffer.from(leafData.slice(2), 'hex')
}

function leafHashes(entries: readonly ResultEntryInput[]): { names: string[]; hashes: Uint8Array[] } {
  // Leaf data is always re-encoded from name, sum and size: a leafData field sent by a peer is never trusted.
  const canonical = canonicalResultEntries(entries)
  return {
    names: canonical.map((e) => e.name),
    hashes: canonical.map((e) => leafHash(leafDataBytes(e.leafData))),
  }
}

/** The result root: 0x + 64 hex digits, ready to go on chain as bytes32. Entry order does not matter. */
export function resultRoot(entries: readonly ResultEntryInput[]): Hex {
  return bytesToHex(mth(leafHashes(entries).hashes))
}

/** The inclusion proof of the entry `name` (e.g. `outputs/result.csv`); throws RESULT_ENTRY_NOT_FOUND. */
export function resultProof(entries: readonly ResultEntryInput[], name: string): ResultProof {
  const { names, hashes } = leafHashes(entries)
  const leafIndex = names.indexOf(name)
  if (leafIndex < 0) {
    throw new VerifierError('RESULT_ENTRY_NOT_FOUND', `The result has no entry ${JSON.stringify(name)}.`, {
      details: `it has ${names.map((n) => JSON.stringify(n)).join(', ')}; output files are named outputs/<path>`,
    })
  }
  return { leafIndex, treeSize: hashes.length, path: auditPath(leafIndex, hashes).map(bytesToHex) }
}

export type VerifyResultFileParameters = {
  /** The result root, e.g. the consensus root read from the chain. */
  root: string
  /** Entry name: `exit`, `stdout`, `stderr` or `outputs/<path>`. */
  name: string
  proof: ResultProof
} & ({ content: Uint8Array } | { sha256: string; size: number })

/**
 * True when the file (its content, or its sum and size) is the entry `name` of the result with this
 * root. A mismatch returns false; malformed hex or an invalid name throws a VerifierError.
 */
export function verifyResultFile(parameters: VerifyResultFileParameters): boolean {
  const { root, name, proof } = parameters
  const entry =
    'content' in parameters
      ? { name, sha256: bytesToHex(sha256(parameters.content)), size: parameters.content.length }
      : { name, sha256: parameters.sha256, size: parameters.size }
  return verifyInclusion({
    leafHash: leafHash(leafDataBytes(resultEntry(entry).leafData)),
    leafIndex: proof.leafIndex,
    treeSize: proof.treeSize,
    path: proof.path.map((p) => hexToBytes(p, { length: 32, what: 'proof path node' })),
    root: hexToBytes(root, { length: 32, what: 'result root' }),
  })
}
