import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { Manifest } from '../sandbox/types.ts'
import { specHash } from './specHash.ts'

const manifest: Manifest = {
  entrypoint: 'main.py',
  interpreter: 'python3',
  environment: 'default',
  args: ['--n', '3'],
  env: { GREETING: 'grüß dich' },
  outputs: ['*.csv'],
  requirements: null,
  timeout: 300,
  memory_mb: 512,
  cpu_seconds: 60,
  gpu: null,
  replicas: 3,
  quorum: null,
  reward_wei: '1000000000000000',
}
const bundleSha256 = 'ab'.repeat(32)
const environmentDigest = '0x08f1956d83d7fb157a78d2d3065e23a1979df5b8130efad182f395cbdd3753b0'

describe('specHash', () => {
  it('is the sha256 of the RFC 8785 form of {manifest, bundle_sha256, environment_digest}', () => {
    const text =
      `{"bundle_sha256":"0x${'ab'.repeat(32)}","environment_digest":"${environmentDigest}",` +
      '"manifest":{"args":["--n","3"],"cpu_seconds":60,"entrypoint":"main.py","env":{"GREETING":"grüß dich"},' +
      '"environment":"default","gpu":null,"interpreter":"python3","memory_mb":512,"outputs":["*.csv"],' +
      '"quorum":null,"replicas":3,"requirements":null,"reward_wei":"1000000000000000","timeout":300}}'
    const expected = `0x${createHash('sha256').update(text, 'utf8').digest('hex')}`
    expect(specHash({ manifest, bundleSha256, environmentDigest })).toBe(expected)
    expect(expected).toBe('0x14e50b1d987e7d783c1ef052658bf19950f4dd0c98d16b248fd69b81dac4c780')
  })

  it('does not depend on key order or on how the sums are spelled', () => {
    const reordered = Object.fromEntries(Object.entries(manifest).reverse()) as Manifest
    const hash = specHash({ manifest: reordered, bundleSha256: `0x${bundleSha256.toUpperCase()}`, environmentDigest: environmentDigest.slice(2) })
    expect(hash).toBe(specHash({ manifest, bundleSha256, environmentDigest }))
  })

  it('writes numbers in ECMAScript form and non-ASCII text as raw UTF-8', () => {
    const hash = specHash({ manifest: { ...manifest, timeout: 3.5, memory_mb: 1e21, env: { Ω: 'é' } }, bundleSha256, environmentDigest })
    const text =
      `{"bundle_sha256":"0x${'ab'.repeat(32)}","environment_digest":"${environmentDigest}",` +
      '"manifest":{"args":["--n","3"],"cpu_seconds":60,"entrypoint":"main.py","env":{"Ω":"é"},' +
      '"environment":"default","gpu":null,"interpreter":"python3","memory_mb":1e+21,"outputs":["*.csv"],' +
      '"quorum":null,"replicas":3,"requirements":null,"reward_wei":"1000000000000000","timeout":3.5}}'
    expect(hash).toBe(`0x${createHash('sha256').update(text, 'utf8').digest('hex')}`)
  })

  it('changes when the manifest, bundle or environment changes', () => {
    const base = specHash({ manifest, bundleSha256, environmentDigest })
    expect(specHash({ manifest: { ...manifest, args: ['--n', '4'] }, bundleSha256, environmentDigest })).not.toBe(base)
    expect(specHash({ manifest, bundleSha256: 'ac'.repeat(32), environmentDigest })).not.toBe(base)
    expect(specHash({ manifest, bundleSha256, environmentDigest: `0x${'00'.repeat(32)}` })).not.toBe(base)
  })

  it('refuses a bundle sum that is not a sha256', () => {
    expect(() => specHash({ manifest, bundleSha256: 'abc', environmentDigest })).toThrowError(expect.objectContaining({ code: 'HEX_INVALID' }))
  })
})
