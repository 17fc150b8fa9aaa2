// One downloaded file against a result root, with a proof or with the (untrusted) entry list.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { resultEntries } from './resultEntries.ts'
import { resultProof, resultRoot } from './resultRoot.ts'
import { verifyOutputFile } from './verifyOutputFile.ts'

const sha256Hex = (data: Buffer): string => `0x${createHash('sha256').update(data).digest('hex')}`
const csv = Buffer.from('x,y\n1,2\n')
const notes = Buffer.from('notes')
const entries = resultEntries({
  exitCode: 0,
  termination: 'exited',
  stdout: Buffer.from('ok\n'),
  stderr: Buffer.alloc(0),
  outputs: [
    { path: 'result.csv', sha256: sha256Hex(csv), sizeBytes: csv.length },
    { path: 'docs/notes.txt', sha256: sha256Hex(notes), sizeBytes: notes.length },
  ],
})
const root = resultRoot(entries)

describe('verifyOutputFile', () => {
  it('verifies the file with its proof and with the entry list', () => {
    expect(verifyOutputFile({ root, name: 'outputs/result.csv', content: csv, proof: resultProof(entries, 'outputs/result.csv') })).toMatchObject({ verified: true, code: 'VERIFIED' })
    expect(verifyOutputFile({ root, name: 'outputs/result.csv', content: csv, entries })).toMatchObject({ verified: true, code: 'VERIFIED' })
  })

  it('rejects a tampered file, saying which sum was expected', () => {
    const tampered = Buffer.from('x,y\n1,3\n')
    expect(verifyOutputFile({ root, name: 'outputs/result.csv', content: tampered, proof: resultProof(entries, 'outputs/result.csv') }).code).toBe('PROOF_INVALID')
    const result = verifyOutputFile({ root, name: 'outputs/result.csv', content: tampered, entries })
    expect(result).toMatchObject({ verified: false, code: 'CONTENT_MISMATCH' })
    expect(result.reason).toContain(sha256Hex(csv))
  })

  it('rejects a right file under the wrong path and names the right one', () => {
    expect(verifyOutputFile({ root, name: 'outputs/notes.txt', content: notes, entries })).toMatchObject({ verified: false, code: 'WRONG_PATH', expectedName: 'outputs/docs/notes.txt' })
    expect(verifyOutputFile({ root, name: 'outputs/result.csv', content: notes, entries })).toMatchObject({ verified: false, code: 'WRONG_PATH' })
  })

  it('rejects entries that do not hash to the root, and names that are not entries', () => {
    const forged = entries.map((e) => (e.name === 'outputs/result.csv' ? { ...e, sha256: sha256Hex(Buffer.from('forged')), size: 6 } : e))
    expect(verifyOutputFile({ root, name: 'outputs/result.csv', content: Buffer.from('forged'), entries: forged }).code).toBe('ENTRIES_MISMATCH')
    expect(verifyOutputFile({ root, name: 'outputs/../etc/passwd', content: csv, entries }).code).toBe('NAME_INVALID')
    expect(verifyOutputFile({ root, name: 'outputs/other.csv', content: Buffer.from('new'), entries }).code).toBe('NOT_IN_RESULT')
  })
})
