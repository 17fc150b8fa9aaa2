import { describe, expect, it } from 'vitest'
import { packFiles } from '../../../sandbox/bundle/packFiles.ts'
import { parseManifest } from '../../../sandbox/manifest.ts'
import { parseSpecDocument } from '../../market/worker/specDocument.ts'
import { buildSpecDocument } from './specDocument.ts'

describe('buildSpecDocument', () => {
  it('gives bytes that hash to the spec hash and that a worker accepts as the job', async () => {
    const bundle = await packFiles({ 'main.py': 'print(1)\n' })
    const manifest = parseManifest({ entrypoint: 'main.py', replicas: 5 })
    const digest = `0x${'ab'.repeat(32)}`
    const spec = buildSpecDocument({ manifest, bundle, environmentDigest: digest })
    const parsed = parseSpecDocument({ data: spec.bytes, specHash: spec.specHash })
    expect(parsed).toEqual({ manifest, bundleSha256: spec.bundleSha256, environmentDigest: digest })
  })

  it('gives another spec hash when the bundle changes', async () => {
    const manifest = parseManifest({ entrypoint: 'main.py' })
    const a = buildSpecDocument({ manifest, bundle: await packFiles({ 'main.py': 'print(1)\n' }), environmentDigest: `0x${'00'.repeat(32)}` })
    const b = buildSpecDocument({ manifest, bundle: await packFiles({ 'main.py': 'print(2)\n' }), environmentDigest: `0x${'00'.repeat(32)}` })
    expect(a.specHash).not.toBe(b.specHash)
  })
})
