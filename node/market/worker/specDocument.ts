// The spec document a gateway serves for a job: the RFC 8785 canonical JSON of
// {manifest, bundle_sha256, environment_digest}, whose sha256 is the on-chain spec hash. The worker
// fetches it by that hash and trusts nothing else about the job, so this parser insists the bytes
// are exactly the canonical form of a normalized manifest.
import { parseManifest } from '../../../sandbox/manifest.ts'
import type { Manifest } from '../../../sandbox/types.ts'
import { canonicalJson } from '../../../verifier/canonicalJson.ts'
import { specHash as computeSpecHash } from '../../../verifier/specHash.ts'
import { WorkerError } from './workerError.ts'

export type SpecDocument = {
  manifest: Manifest
  /** 0x + 64 lowercase hex. */
  bundleSha256: string
  /** 0x + 64 lowercase hex. */
  environmentDigest: string
}

export type ParseSpecDocumentParameters = {
  data: Uint8Array
  /** The spec hash read from the chain. */
  specHash: string
}

/** A spec document is a few KiB; this bounds what a worker fetches for one. */
export const maxSpecDocumentBytes = 256 * 1024

const hashPattern = /^0x[0-9a-f]{64}$/

export function parseSpecDocument({ data, specHash }: ParseSpecDocumentParameters): SpecDocument {
  const invalid = (why: string, cause?: unknown): WorkerError =>
    new WorkerError('SPEC_INVALID', `The spec document of spec hash ${specHash} ${why}; the gateway that posted the job must serve canonical JSON of {manifest, bundle_sha256, environment_digest}.`, { cause })
  let value: unknown
  const text = Buffer.from(data).toString('utf8')
  try {
    value = JSON.parse(text)
  } catch (error) {
    throw invalid('is not JSON', error)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid('is not a JSON object')
  const doc = value as Record<string, unknown>
  const keys = Object.keys(doc).sort()
  if (keys.join(',') !== 'bundle_sha256,environment_digest,manifest') throw invalid(`has the fields ${keys.join(', ')}`)
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
  const spec = { manifest, bundleSha256: doc.bundle_sha256, environmentDigest: doc.environment_digest }
  const recomputed = computeSpecHash(spec)
  if (recomputed !== specHash.toLowerCase()) throw invalid(`hashes to ${recomputed}`)
  return spec
}

/** The bytes a gateway serves (and whose sha256 it posts): the inverse of parseSpecDocument. */
export function specDocumentBytes({ manifest, bundleSha256, environmentDigest }: SpecDocument): Uint8Array {
  return Buffer.from(canonicalJson({ manifest, bundle_sha256: bundleSha256, environment_digest: environmentDigest }), 'utf8')
}
