import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { exitEntryContent, resultEntries } from './resultEntries.ts'
import { parseExitEntry } from './parseExitEntry.ts'

const sha256Hex = (content: string | Buffer) => `0x${createHash('sha256').update(content).digest('hex')}`
const base = { exitCode: 0, termination: 'exited', stdout: Buffer.from('hello\n'), stderr: Buffer.alloc(0), outputs: [] }

describe('exitEntryContent', () => {
  it('writes "<code>:<termination>", with the word null when there is no exit code', () => {
    expect(exitEntryContent(0, 'exited')).toBe('0:exited')
    expect(exitEntryContent(3, 'exited')).toBe('3:exited')
    expect(exitEntryContent(null, 'signaled:9')).toBe('null:signaled:9')
    expect(exitEntryContent(137, 'timeout')).toBe('137:timeout')
    expect(exitEntryContent(null, 'oom')).toBe('null:oom')
    expect(exitEntryContent(null, 'cpu_limit')).toBe('null:cpu_limit')
  })

  it('refuses terminations and exit codes no sandbox reports', () => {
    for (const [code, termination] of [
      [0, 'finished'],
      [0, 'signaled:0'],
      [0, 'signaled:65'],
      [0, 'signaled:09'],
      [256, 'exited'],
      [-1, 'exited'],
      [1.5, 'exited'],
      [null, 'exited'],
    ] as const) {
      expect(() => exitEntryContent(code, termination), `${code}:${termination}`).toThrowError(expect.objectContaining({ code: 'RESULT_INVALID' }))
    }
  })
})

describe('resultEntries', () => {
  it('commits to exit, stdout, stderr and each output by sha256 and size, never the content', () => {
    const csv = Buffer.from('a,b\n1,2\n')
    const entries = resultEntries({ ...base, outputs: [{ path: 'out/data.csv', sha256: sha256Hex(csv).slice(2), sizeBytes: csv.length }] })
    expect(entries.map(({ name, sha256, size }) => ({ name, sha256, size }))).toEqual([
      { name: 'exit', sha256: sha256Hex('0:exited'), size: 8 },
      { name: 'outputs/out/data.csv', sha256: sha256Hex(csv), size: 8 },
      { name: 'stderr', sha256: sha256Hex(''), size: 0 },
      { name: 'stdout', sha256: sha256Hex('hello\n'), size: 6 },
    ])
    expect(JSON.stringify(entries)).not.toContain(Buffer.from('hello').toString('hex'))
  })

  it('encodes leaf data as u32be(name length) || name || sha256 || u64be(size)', () => {
    const [exit] = resultEntries(base)
    const expected = Buffer.concat([
      Buffer.from('00000004', 'hex'),
      Buffer.from('exit'),
      createHash('sha256').update('0:exited').digest(),
      Buffer.from('0000000000000008', 'hex'),
    ])
    expect(exit!.leafData).toBe(`0x${expected.toString('hex')}`)
  })

  it('writes sizes above 4 GiB in full', () => {
    const big = 2 ** 40 + 5
    const entries = resultEntries({ ...base, outputs: [{ path: 'big.bin', sha256: sha256Hex('x'), sizeBytes: big }] })
    expect(entries[1]!.leafData.endsWith('0000010000000005')).toBe(true)
  })

  it('sorts by UTF-8 bytes, not by JavaScript string order', () => {
    // U+FF5E sorts after the surrogate pair of U+1F600 in UTF-16 but before it in UTF-8.
    const outputs = ['😀.txt', '～.txt', 'Z.txt', 'a.txt'].map((path) => ({ path, sha256: sha256Hex(path), sizeBytes: 1 }))
    expect(resultEntries({ ...base, outputs }).map((e) => e.name)).toEqual([
      'exit',
      'outputs/Z.txt',
      'outputs/a.txt',
      'outputs/～.txt',
      'outputs/😀.txt',
      'stderr',
      'stdout',
    ])
  })

  it('refuses output paths that could name a file outside the job or twice', () => {
    for (const path of ['../etc/passwd', '/abs', 'a//b', 'a/./b', 'dir/', '', 'a\0b', 'bad\ud800']) {
      expect(() => resultEntries({ ...base, outputs: [{ path, sha256: sha256Hex(''), sizeBytes: 0 }] }), JSON.stringify(path)).toThrowError(
        expect.objectContaining({ code: 'RESULT_INVALID' }),
      )
    }
    const twice = [{ path: 'a.txt', sha256: sha256Hex(''), sizeBytes: 0 }, { path: 'a.txt', sha256: sha256Hex('x'), sizeBytes: 1 }]
    expect(() => resultEntries({ ...base, outputs: twice })).toThrowError(/appears twice/)
  })

  it('refuses a malformed sha256 or size of an output', () => {
    expect(() => resultEntries({ ...base, outputs: [{ path: 'a', sha256: 'abc', sizeBytes: 0 }] })).toThrowError(
      expect.objectContaining({ code: 'HEX_INVALID' }),
    )
    expect(() => resultEntries({ ...base, outputs: [{ path: 'a', sha256: sha256Hex(''), sizeBytes: -1 }] })).toThrowError(/whole number/)
  })
})

describe('parseExitEntry', () => {
  it('reads back what exitEntryContent writes', () => {
    for (const [code, termination] of [[0, 'exited'], [1, 'exited'], [null, 'signaled:9'], [137, 'timeout'], [null, 'cancelled']] as const)
      expect(parseExitEntry(Buffer.from(exitEntryContent(code, termination), 'utf8'))).toEqual({ exitCode: code, termination })
  })

  it('gives no exit code and no termination for an empty entry', () => {
    expect(parseExitEntry('')).toEqual({ exitCode: null, termination: '' })
  })
})
