// The spec document of a market job (docs/network.md, "flow"): the RFC 8785 canonical JSON of
// {manifest, bundle_sha256, environment_digest}. Its bytes are a content-addressed blob whose sha256
// is the on-chain specHash, so a worker fetches it by that hash and trusts nothing from gossip.
import { createHash } from 'node:crypto'
import type { Manifest } from '../../../sandbox/types.ts'
import { canonicalJson, normalizeSha256, specHash, type Hex } from '../../../verifier/index.ts'

export type BuildSpecDocumentParameters = {
  manifest: Manifest
  bundle: Uint8Array
  environmentDigest: string
}

export type BuildSpecDocumentReturnType = {
  /** The canonical JSON bytes, served through the bundle protocol under `specHash`. */
  bytes: Uint8Array
  specHash: Hex
  bundleSha256: Hex
}

export function buildSpecDocument({ manifest, bundle, environmentDigest }: BuildSpecDocumentParameters): BuildSpecDocumentReturnType {
  const bundleSha256 = `0x${createHash('sha256').update(bundle).digest('hex')}` as Hex
  const digest = normalizeSha256(environmentDigest, 'environment digest')
  const bytes = Buffer.from(canonicalJson({ manifest, bundle_sha256: bundleSha256, environment_digest: digest }), 'utf8')
  const hash = specHash({ manifest, bundleSha256, environmentDigest: digest })
  // Both definitions of the hash must agree, or workers would fetch a document that is not the job.
  if (`0x${createHash('sha256').update(bytes).digest('hex')}` !== hash) throw new Error('spec document bytes do not hash to the spec hash')
  return { bytes: Uint8Array.from(bytes), specHash: hash, bundleSha256 }
}
