// RFC 6962 Merkle trees (Certificate Transparency): the tree hash, audit paths and the RFC 9162
// inclusion check. Works on leaf hashes, so callers decide what a leaf is (see resultRoot.ts).
// Domain-separated hashing (0x00 leaves, 0x01 nodes) keeps a node from passing as a leaf.
import { createHash } from 'node:crypto'
import { VerifierError } from './errors.ts'

const leafPrefix = Uint8Array.of(0x00)
const nodePrefix = Uint8Array.of(0x01)

/** sha256(0x00 || data): the hash of one leaf. */
export function leafHash(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(leafPrefix).update(data).digest()
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(nodePrefix).update(left).update(right).digest()
}

/** The largest power of two strictly below n (n >= 2): where RFC 6962 splits a tree. */
function splitPoint(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

function assertLeafHashes(leafHashes: readonly Uint8Array[]): void {
  for (const [i, hash] of leafHashes.entries()) {
    if (hash.length !== 32) {
      throw new VerifierError('MERKLE_INPUT_INVALID', `Leaf hash ${i} must be 32 bytes (a sha256), not ${hash.length}.`)
    }
  }
}

function subtreeHash(leafHashes: readonly Uint8Array[], start: number, end: number): Uint8Array {
  const n = end - start
  if (n === 1) return leafHashes[start]!
  const k = splitPoint(n)
  return nodeHash(subtreeHash(leafHashes, start, start + k), subtreeHash(leafHashes, start + k, end))
}

/** MTH(D[n]) of RFC 6962 §2.1 over already-hashed leaves; the empty tree is sha256(""). */
export function mth(leafHashes: readonly Uint8Array[]): Uint8Array {
  assertLeafHashes(leafHashes)
  if (leafHashes.length === 0) return createHash('sha256').digest()
  return subtreeHash(leafHashes, 0, leafHashes.length)
}

function subtreePath(leafHashes: readonly Uint8Array[], m: number, start: number, end: number): Uint8Array[] {
  const n = end - start
  if (n === 1) return []
  const k = splitPoint(n)
  if (m < k) return [...subtreePath(leafHashes, m, start, start + k), subtreeHash(leafHashes, start + k, end)]
  return [...subtreePath(leafHashes, m - k, start + k, end), subtreeHash(leafHashes, start, start + k)]
}

/** PATH(m, D[n]) of RFC 6962 §2.1.1: the sibling hashes from the leaf up to the root. */
export function auditPath(leafIndex: number, leafHashes: readonly Uint8Array[]): Uint8Array[] {
  assertLeafHashes(leafHashes)
  if (!Number.isSafeInteger(leafIndex) || leafIndex < 0 || leafIndex >= leafHashes.length) {
    throw new VerifierError(
      'MERKLE_INPUT_INVALID',
      `Leaf index ${leafIndex} is not in a tree of ${leafHashes.length} leaves; use 0 to ${leafHashes.length - 1}.`,
    )
  }
  return subtreePath(leafHashes, leafIndex, 0, leafHashes.length)
}

export type VerifyInclusionParameters = {
  leafHash: Uint8Array
  leafIndex: number
  treeSize: number
  path: readonly Uint8Array[]
  root: Uint8Array
}

/**
 * The inclusion check of RFC 9162 §2.1.3.2 (the same proofs as RFC 6962). Returns false for any
 * proof that does not tie this leaf at this index to this root in a tree of this size.
 */
export function verifyInclusion({ leafHash, leafIndex, treeSize, path, root }: VerifyInclusionParameters): boolean {
  if (!Number.isSafeInteger(leafIndex) || !Number.isSafeInteger(treeSize)) return false
  if (leafIndex < 0 || leafIndex >= treeSize) return false
  if (leafHash.length !== 32 || root.length !== 32 || path.some((p) => p.length !== 32)) return false
  // Plain numbers rather than bit operators: sizes may exceed 2^31, where >>> and & would wrap.
  let fn = leafIndex
  let sn = treeSize - 1
  let r = leafHash
  for (const p of path) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2)
          sn = Math.floor(sn / 2)
        }
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && Buffer.from(r).equals(Buffer.from(root))
}
