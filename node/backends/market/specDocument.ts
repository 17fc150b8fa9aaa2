// The spec document a gateway posts for a market job: the verifier's one codec
// (verifier/specDocument.ts) over {manifest, bundle_sha256, environment_digest}. Its bytes are a
// content-addressed blob whose sha256 is the on-chain specHash, served through the bundle protocol.
import { createHash } from 'node:crypto'
import type { Manifest } from '../../../sandbox/index.ts'
import { type Hex, type SpecHash, specDocumentBytes, specHash } from '../../../verifier/index.ts'

export type BuildSpecDocumentParameters = {
  manifest: Manifest
  bundle: Uint8Array
  environmentDigest: string
}

export type BuildSpecDocumentReturnType = {
  /** The canonical JSON bytes, served through the bundle protocol under `specHash`. */
  bytes: Uint8Array
  specHash: SpecHash
  bundleSha256: Hex
}

export function buildSpecDocument({ manifest, bundle, environmentDigest }: BuildSpecDocumentParameters): BuildSpecDocumentReturnType {
  const bundleSha256: Hex = `0x${createHash('sha256').update(bundle).digest('hex')}`
  const spec = { manifest, bundleSha256, environmentDigest }
  return { bytes: specDocumentBytes(spec), specHash: specHash(spec), bundleSha256 }
}
