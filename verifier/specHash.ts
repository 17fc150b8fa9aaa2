// The spec hash (docs/network.md, "The flow"): what a job is, as the chain records it. Workers recompute it from
// the manifest, bundle and environment they were given before committing to run the job.
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex } from './hex.ts'
import type { SpecHash } from './parseSpecHash.ts'
import { type SpecDocument, specDocumentBytes } from './specDocument.ts'

export type SpecHashParameters = SpecDocument

/**
 * sha256 (0x hex) of the spec document: the RFC 8785 canonical JSON of
 * `{"bundle_sha256":"0x…","environment_digest":"0x…","manifest":{…}}`, both sums written as
 * 0x + lowercase hex whatever form they were passed in.
 */
export function specHash(spec: SpecHashParameters): SpecHash {
  return bytesToHex(sha256(specDocumentBytes(spec))) as SpecHash
}
