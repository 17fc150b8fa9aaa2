// The spec document a worker fetches by the on-chain spec hash: accepted only as the exact
// canonical bytes of {normalized manifest, bundle_sha256, environment_digest} that hash to it.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseManifest } from '../../../sandbox/index.ts'
import { canonicalJson, specDocumentBytes, specHash, parseSpecHash } from '../../../verifier/index.ts'
import { parseSpecDocument } from './specDocument.ts'

const spec = { manifest: parseManifest({ entrypoint: 'main.py' }), bundleSha256: `0x${'11'.repeat(32)}`, environmentDigest: `0x${'22'.repeat(32)}` }
const sha = (data: Uint8Array | string): string => `0x${createHash('sha256').update(data).digest('hex')}`

describe('spec documents', () => {
  it('round-trip, and their sha256 is the verifier\'s spec hash', () => {
    const data = specDocumentBytes(spec)
    expect(sha(data)).toBe(specHash(spec))
    expect(parseSpecDocument({ data, specHash: specHash(spec) })).toEqual(spec)
  })

  it('refuses documents that are not canonical, not normalized, or for another spec hash', () => {
    const canonical = Buffer.from(specDocumentBytes(spec)).toString('utf8')
    const pretty = JSON.stringify(JSON.parse(canonical), null, 2)
    expect(() => parseSpecDocument({ data: Buffer.from(pretty), specHash: parseSpecHash(sha(pretty)) })).toThrow(/not in RFC 8785 canonical form/)
    const sparse = canonicalJson({ manifest: { entrypoint: 'main.py' }, bundle_sha256: spec.bundleSha256, environment_digest: spec.environmentDigest })
    expect(() => parseSpecDocument({ data: Buffer.from(sparse), specHash: parseSpecHash(sha(sparse)) })).toThrow(/not normalized/)
    expect(() => parseSpecDocument({ data: specDocumentBytes(spec), specHash: parseSpecHash(`0x${'33'.repeat(32)}`) })).toThrow(expect.objectContaining({ code: 'SPEC_INVALID' }))
  })
})
