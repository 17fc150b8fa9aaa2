// The spec hash (docs/network.md, "The flow"): what a job is, as the chain records it. Workers recompute it from
// the manifest, bundle and environment they were given before committing to run the job.
import { sha256 } from '@noble/hashes/sha2.js'
import type { Manifest } from '../sandbox/types.ts'
import { canonicalJson } from './canonicalJson.ts'
import { bytesToHex, normalizeSha256, type Hex } from './hex.ts'

export type SpecHashParameters = {
  /** The manifest after validation with every default filled in, so equal jobs hash equal. */
  manifest: Manifest
  /** sha256 of the gzip tar bundle as uploaded; bare or 0x hex. */
  bundleSha256: string
  /** From environmentDigest(); bare or 0x hex. */
  environmentDigest: string
}

/**
 * sha256 (0x hex) of the RFC 8785 canonical JSON of
 * `{"bundle_sha256":"0x…","environment_digest":"0x…","manifest":{…}}`, both sums written as
 * 0x + lowercase hex whatever form they were passed in.
 */
export function specHash({ manifest, bundleSha256, environmentDigest }: SpecHashParameters): Hex {
  const text = canonicalJson({
    manifest,
    bundle_sha256: normalizeSha256(bundleSha256, 'bundle sha256'),
    environment_digest: normalizeSha256(environmentDigest, 'environment digest'),
  })
  return bytesToHex(sha256(Buffer.from(text, 'utf8')))
}
