import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { resultEntries } from './resultEntries.ts'
import { resultProof, resultRoot, verifyResultFile } from './resultRoot.ts'

const sha256 = (content: string | Buffer) => createHash('sha256').update(content).digest()
const sha256Hex = (content: string | Buffer) => `0x${sha256(content).toString('hex')}`

const answer = Buffer.from('answer: 42\n')
const fixed = {
  exitCode: 0,
  termination: 'exited',
  stdout: Buffer.from('hello\n'),
  stderr: Buffer.alloc(0),
  outputs: [{ path: 'result.txt', sha256: sha256Hex(answer).slice(2), sizeBytes: answer.length }],
}

/** A result with `count` output files (3 + count entries), with their contents. */
function resultWith(count: number) {
  const files = Array.from({ length: count }, (_, i) => ({ path: `f${String(i).padStart(2, '0')}.txt`, content: Buffer.from(`file ${i}\n`) }))
  const entries = resultEntries({
    ...fixed,
    outputs: files.map((f) => ({ path: f.path, sha256: sha256Hex(f.content), sizeBytes: f.content.length })),
  })
  const contents = new Map<string, Buffer>([
    ['exit', Buffer.from('0:exited')],
    ['stdout', fixed.stdout],
    ['stderr', fixed.stderr],
    ...files.map((f) => [`outputs/${f.path}`, f.content] as [string, Buffer]),
  ])
  return { entries, contents }
}

describe('resultRoot', () => {
  it('is pinned for a fixed result, so any change of the format shows', () => {
    expect(resultRoot(resultEntries(fixed))).toBe('0xd542b889cb3eb00bc264e129e638c054c579314c6ff7ac49475d0ba09690a079')
  })

  it('matches the tree built by hand from the documented leaf encoding', () => {
    const leaf = (name: string, content: Buffer) => {
      const head = Buffer.alloc(4)
      head.writeUInt32BE(Buffer.byteLength(name))
      const size = Buffer.alloc(8)
      size.writeBigUInt64BE(BigInt(content.length))
      return sha256(Buffer.concat([Buffer.of(0), head, Buffer.from(name), sha256(content), size]))
    }
    const node = (l: Buffer, r: Buffer) => sha256(Buffer.concat([Buffer.of(1), l, r]))
    // Sorted: exit, outputs/result.txt, stderr, stdout -> a balanced tree of four.
    const root = node(
      node(leaf('exit', Buffer.from('0:exited')), leaf('outputs/result.txt', answer)),
      node(leaf('stderr', Buffer.alloc(0)), leaf('stdout', Buffer.from('hello\n'))),
    )
    expect(resultRoot(resultEntries(fixed))).toBe(`0x${root.toString('hex')}`)
  })

  it('does not depend on entry order or on how sums are spelled', () => {
    const entries = resultEntries(fixed)
    const respelled = [...entries].reverse().map(({ name, sha256: sum, size }) => ({ name, sha256: sum.slice(2).toUpperCase(), size }))
    expect(resultRoot(respelled)).toBe(resultRoot(entries))
  })

  it('changes with the exit code, any output byte or an output name', () => {
    const root = resultRoot(resultEntries(fixed))
    expect(resultRoot(resultEntries({ ...fixed, exitCode: 1 }))).not.toBe(root)
    expect(resultRoot(resultEntries({ ...fixed, stdout: Buffer.from('hello!') }))).not.toBe(root)
    expect(resultRoot(resultEntries({ ...fixed, outputs: [{ ...fixed.outputs[0]!, path: 'result2.txt' }] }))).not.toBe(root)
  })

  it('recomputes leaf data instead of trusting the leafData a peer sent', () => {
    const entries = resultEntries(fixed)
    const forged = entries.map((e) => (e.name === 'stdout' ? { ...e, leafData: entries[0]!.leafData } : e))
    expect(resultRoot(forged)).toBe(resultRoot(entries))
  })

  it('refuses an entry list without exit, stdout or stderr', () => {
    const entries = resultEntries(fixed).filter((e) => e.name !== 'stderr')
    expect(() => resultRoot(entries)).toThrowError(expect.objectContaining({ code: 'RESULT_INVALID' }))
  })
})

describe('resultProof and verifyResultFile', () => {
  it('proves every entry of results with 3..17 entries, by content or by sum and size', () => {
    for (let count = 0; count <= 14; count++) {
      const { entries, contents } = resultWith(count)
      const root = resultRoot(entries)
      for (const [name, content] of contents) {
        const proof = resultProof(entries, name)
        expect(proof.treeSize).toBe(count + 3)
        expect(verifyResultFile({ root, name, content, proof }), `${name} of ${count + 3}`).toBe(true)
        expect(verifyResultFile({ root, name, sha256: sha256Hex(content), size: content.length, proof })).toBe(true)
      }
    }
  })

  it('rejects a changed byte, a wrong index, a wrong size, a wrong name or another root', () => {
    const { entries, contents } = resultWith(6)
    const root = resultRoot(entries)
    const name = 'outputs/f03.txt'
    const content = contents.get(name)!
    const proof = resultProof(entries, name)
    expect(verifyResultFile({ root, name, content, proof })).toBe(true)

    const flipped = Buffer.from(content)
    flipped[0]! ^= 0x01
    expect(verifyResultFile({ root, name, content: flipped, proof })).toBe(false)
    expect(verifyResultFile({ root, name, sha256: sha256Hex(content), size: content.length + 1, proof })).toBe(false)
    expect(verifyResultFile({ root, name, content, proof: { ...proof, leafIndex: proof.leafIndex + 1 } })).toBe(false)
    expect(verifyResultFile({ root, name, content, proof: { ...proof, treeSize: proof.treeSize + 8 } })).toBe(false)
    expect(verifyResultFile({ root, name: 'outputs/f04.txt', content, proof })).toBe(false)
    expect(verifyResultFile({ root: resultRoot(resultWith(5).entries), name, content, proof })).toBe(false)
    const badPath = proof.path.map((p, i): `0x${string}` => (i === 0 ? `0x${p.slice(2, -1)}${p.endsWith('0') ? '1' : '0'}` : p))
    expect(verifyResultFile({ root, name, content, proof: { ...proof, path: badPath } })).toBe(false)
  })

  it('gives 0x hex that goes on chain as bytes32 unchanged', () => {
    const { entries } = resultWith(2)
    expect(resultRoot(entries)).toMatch(/^0x[0-9a-f]{64}$/)
    for (const p of resultProof(entries, 'stdout').path) expect(p).toMatch(/^0x[0-9a-f]{64}$/)
  })

  it('says which names exist when asked for one that does not', () => {
    expect(() => resultProof(resultEntries(fixed), 'result.txt')).toThrowError(
      expect.objectContaining({ code: 'RESULT_ENTRY_NOT_FOUND', details: expect.stringContaining('"outputs/result.txt"') }),
    )
  })

  it('refuses a malformed root instead of calling it a mismatch', () => {
    const entries = resultEntries(fixed)
    const proof = resultProof(entries, 'stdout')
    expect(() => verifyResultFile({ root: 'd542b8', name: 'stdout', content: fixed.stdout, proof })).toThrowError(
      expect.objectContaining({ code: 'HEX_INVALID' }),
    )
  })
})
