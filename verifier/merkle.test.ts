import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { VerifierError } from './errors.ts'
import { auditPath, leafHash, mth, verifyInclusion } from './merkle.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const sha = (...parts: Uint8Array[]) => createHash('sha256').update(Buffer.concat(parts)).digest()

// The Certificate Transparency sample tree (RFC 6962 reference tests, RFC 9162 §2.1.5 examples).
const ctLeaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) =>
  Buffer.from(h, 'hex'),
)
const ctRoots = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
]
const ctPaths: Array<[leafIndex: number, treeSize: number, path: string[]]> = [
  [0, 1, []],
  [0, 8, [
    '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
  ]],
  [5, 8, [
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
    'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  ]],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, [
    '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
    '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
    'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
  ]],
]

// An independent, literal transcription of RFC 6962 §2.1 / §2.1.1 over raw leaf data.
function referenceMth(d: Buffer[]): Buffer {
  if (d.length === 0) return sha()
  if (d.length === 1) return sha(Buffer.of(0), d[0]!)
  let k = 1
  while (k < d.length) k <<= 1
  k >>= 1
  return sha(Buffer.of(1), referenceMth(d.slice(0, k)), referenceMth(d.slice(k)))
}
function referencePath(m: number, d: Buffer[]): Buffer[] {
  if (d.length <= 1) return []
  let k = 1
  while (k < d.length) k <<= 1
  k >>= 1
  return m < k
    ? [...referencePath(m, d.slice(0, k)), referenceMth(d.slice(k))]
    : [...referencePath(m - k, d.slice(k)), referenceMth(d.slice(0, k))]
}

/** Which side each sibling of leaf m sits on, leaf to root, in a tree of n leaves. */
function referenceShape(m: number, n: number): string {
  if (n <= 1) return ''
  let k = 1
  while (k < n) k <<= 1
  k >>= 1
  return m < k ? `${referenceShape(m, k)}R` : `${referenceShape(m - k, n - k)}L`
}

const dataOf = (n: number) => Array.from({ length: n }, (_, i) => Buffer.from(`leaf ${i}`))

describe('mth', () => {
  it('gives the Certificate Transparency roots for the sample tree of 0..8 leaves', () => {
    for (let n = 0; n <= 8; n++) {
      expect(hex(mth(ctLeaves.slice(0, n).map(leafHash))), `size ${n}`).toBe(ctRoots[n])
    }
  })

  it('agrees with a literal RFC 6962 implementation for 0..17 leaves', () => {
    for (let n = 0; n <= 17; n++) {
      const data = dataOf(n)
      expect(hex(mth(data.map(leafHash))), `size ${n}`).toBe(hex(referenceMth(data)))
    }
  })

  it('refuses a leaf hash that is not 32 bytes', () => {
    expect(() => mth([new Uint8Array(31)])).toThrowError(expect.objectContaining({ code: 'MERKLE_INPUT_INVALID' }))
  })
})

describe('auditPath', () => {
  it('gives the Certificate Transparency audit paths', () => {
    for (const [m, n, path] of ctPaths) {
      expect(auditPath(m, ctLeaves.slice(0, n).map(leafHash)).map(hex), `leaf ${m} of ${n}`).toEqual(path)
    }
  })

  it('agrees with a literal RFC 6962 implementation for every leaf of 1..17 leaves', () => {
    for (let n = 1; n <= 17; n++) {
      const data = dataOf(n)
      for (let m = 0; m < n; m++) {
        expect(auditPath(m, data.map(leafHash)).map(hex), `leaf ${m} of ${n}`).toEqual(referencePath(m, data).map(hex))
      }
    }
  })

  it('refuses an index outside the tree', () => {
    const hashes = dataOf(3).map(leafHash)
    expect(() => auditPath(3, hashes)).toThrowError(VerifierError)
    expect(() => auditPath(-1, hashes)).toThrowError(/use 0 to 2/)
  })
})

describe('verifyInclusion', () => {
  const flip = (b: Uint8Array, bit = 0) => {
    const copy = Uint8Array.from(b)
    copy[bit >> 3]! ^= 1 << (bit & 7)
    return copy
  }

  it('accepts every leaf of trees of 1..17 leaves', () => {
    for (let n = 1; n <= 17; n++) {
      const hashes = dataOf(n).map(leafHash)
      const root = mth(hashes)
      for (let m = 0; m < n; m++) {
        expect(verifyInclusion({ leafHash: hashes[m]!, leafIndex: m, treeSize: n, path: auditPath(m, hashes), root }), `leaf ${m} of ${n}`).toBe(true)
      }
    }
  })

  it('rejects a flipped bit, a wrong index, a wrong size, a wrong leaf or a changed path length', () => {
    let wrongSizesChecked = 0
    for (let n = 1; n <= 17; n++) {
      const hashes = dataOf(n).map(leafHash)
      const root = mth(hashes)
      for (let m = 0; m < n; m++) {
        const path = auditPath(m, hashes)
        const ok = { leafHash: hashes[m]!, leafIndex: m, treeSize: n, path, root }
        const label = `leaf ${m} of ${n}`
        expect(verifyInclusion({ ...ok, leafHash: flip(ok.leafHash, 77) }), label).toBe(false)
        expect(verifyInclusion({ ...ok, root: flip(root, 255) }), label).toBe(false)
        path.forEach((_, i) => {
          expect(verifyInclusion({ ...ok, path: path.map((p, j) => (i === j ? flip(p, 3) : p)) }), label).toBe(false)
        })
        for (let other = 0; other < n + 2; other++) {
          if (other !== m) expect(verifyInclusion({ ...ok, leafIndex: other }), `${label} as ${other}`).toBe(false)
        }
        for (let size = 1; size <= 2 * n + 1; size++) {
          // The size only fixes the shape of the path, so a size whose tree has the same shape above
          // this leaf (leaf 0 of 3 and of 4) rightly verifies; every other size must not.
          if (size === n || (size > m && referenceShape(m, size) === referenceShape(m, n))) continue
          expect(verifyInclusion({ ...ok, treeSize: size }), `${label} in size ${size}`).toBe(false)
          wrongSizesChecked++
        }
        if (n > 1) expect(verifyInclusion({ ...ok, leafHash: hashes[(m + 1) % n]! }), label).toBe(false)
        expect(verifyInclusion({ ...ok, path: [...path, root] }), label).toBe(false)
        if (path.length > 0) expect(verifyInclusion({ ...ok, path: path.slice(0, -1) }), label).toBe(false)
      }
    }
    expect(wrongSizesChecked).toBeGreaterThan(1000)
  })

  it('rejects an index beyond the tree and hashes of the wrong length', () => {
    const hashes = dataOf(4).map(leafHash)
    const root = mth(hashes)
    const path = auditPath(0, hashes)
    expect(verifyInclusion({ leafHash: hashes[0]!, leafIndex: 4, treeSize: 4, path, root })).toBe(false)
    expect(verifyInclusion({ leafHash: hashes[0]!, leafIndex: 0, treeSize: 0, path: [], root })).toBe(false)
    expect(verifyInclusion({ leafHash: hashes[0]!.slice(1), leafIndex: 0, treeSize: 4, path, root })).toBe(false)
  })
})
