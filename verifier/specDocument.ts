// The spec document (docs/network.md, "The flow"): the RFC 8785 canonical JSON of
// {manifest, bundle_sha256, environment_digest}. Its sha256 is the spec hash the chain records, so a
// gateway serves these bytes and a worker fetches them by that hash and trusts nothing else about
// the job. The one codec: the gateway encodes with specDocumentBytes, a worker decodes with
// decodeSpecDocument, and specHash is the sha256 of the same bytes.
import { sha256 } from '@noble/hashes/sha2.js'
import type { Manifest } from '../sandbox/types.ts'
import { canonicalJson } from './canonicalJson.ts'
import { VerifierError } from './errors.ts'
import { bytesToHex, normalizeSha256 } from './hex.ts'
import type { SpecHash } from './parseSpecHash.ts'

export type SpecDocument = {
  /** The manifest after validation with every default filled in, so equal jobs hash equal. */
  manifest: Manifest
  /** sha256 of the gzip tar bundle as uploaded; bare or 0x hex (written as 0x + lowercase). */
  bundleSha256: string
  /** From environmentDigest(); bare or 0x hex (written as 0x + lowercase). */
  environmentDigest: string
}

/** The document's bytes: what a gateway serves, and whose sha256 it posts as the spec hash. */
export function specDocumentBytes({ manifest, bundleSha256, environmentDigest }: SpecDocument): Uint8Array {
  const text = canonicalJson({
    manifest,
    bundle_sha256: normalizeSha256(bundleSha256, 'bundle sha256'),
    environment_digest: normalizeSha256(environmentDigest, 'environment digest'),
  })
  return Uint8Array.from(Buffer.from(text, 'utf8'))
}

export type DecodeSpecDocumentParameters = {
  data: Uint8Array
  /** The spec hash read from the chain. */
  specHash: SpecHash
  /** The manifest validator (the sandbox's parseManifest): it must return the normalized manifest. */
  parseManifest: (value: unknown) => Manifest
}

const hashPattern = /^0x[0-9a-f]{64}$/

/**
 * The spec in `data`, accepted only as the exact canonical bytes of a normalized manifest and two
 * 0x sums that hash to `specHash`; throws SPEC_DOCUMENT_INVALID saying what is wrong.
 */
export function decodeSpecDocument({ data, specHash, parseManifest }: DecodeSpecDocumentParameters): SpecDocument {
  const invalid = (why: string, cause?: unknown): VerifierError =>
    new VerifierError(
      'SPEC_DOCUMENT_INVALID',
      `The spec document of spec hash ${specHash} ${why}; the gateway that posted the job must serve canonical JSON of {manifest, bundle_sha256, environment_digest}.`,
      { cause },
    )
  let value: unknown
  const text = Buffer.from(data).toString('utf8')
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw invalid('is not JSON', error)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('is not a JSON object')
  const keys = Object.keys(value).sort()
  if (keys.join(',') !== 'bundle_sha256,environment_digest,manifest') throw invalid(`has the fields ${keys.join(', ')}`)
  const doc = value as Record<string, unknown>
  if (typeof doc.bundle_sha256 !== 'string' || !hashPattern.test(doc.bundle_sha256)) throw invalid('has no 0x-hex bundle_sha256')
  if (typeof doc.environment_digest !== 'string' || !hashPattern.test(doc.environment_digest)) throw invalid('has no 0x-hex environment_digest')
  let manifest: Manifest
  try {
    manifest = parseManifest(doc.manifest)
  } catch (error) {
    throw invalid('holds an invalid manifest', error)
  }
  // A manifest with defaults left out would hash differently on another worker: only the normalized form counts.
  if (canonicalJson(manifest) !== canonicalJson(doc.manifest)) throw invalid('holds a manifest that is not normalized')
  if (canonicalJson(doc) !== text) throw invalid('is not in RFC 8785 canonical form')
  const hash = bytesToHex(sha256(data))
  if (hash !== specHash.toLowerCase()) throw invalid(`hashes to ${hash}`)
  return { manifest, bundleSha256: doc.bundle_sha256, environmentDigest: doc.environment_digest }
}
