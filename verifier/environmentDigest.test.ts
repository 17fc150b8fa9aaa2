import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { environmentDigest } from './environmentDigest.ts'

const python = { interpreterVersion: 'Python 3.11.2', packages: ['numpy==1.26.4', 'pandas==2.2.2'] }

describe('environmentDigest', () => {
  it('is the sha256 of the documented canonical JSON', () => {
    const text = '{"interpreter_version":"Python 3.11.2","packages":["numpy==1.26.4","pandas==2.2.2"]}'
    expect(environmentDigest(python)).toBe(`0x${createHash('sha256').update(text).digest('hex')}`)
    expect(environmentDigest(python)).toBe('0x08f1956d83d7fb157a78d2d3065e23a1979df5b8130efad182f395cbdd3753b0')
  })

  it('is the same for a package list in any order, with duplicates or surrounding whitespace', () => {
    expect(environmentDigest({ interpreterVersion: 'Python 3.11.2\n', packages: [' pandas==2.2.2', 'numpy==1.26.4', 'numpy==1.26.4\n'] })).toBe(
      environmentDigest(python),
    )
  })

  it('differs for another interpreter version or package version', () => {
    expect(environmentDigest({ ...python, interpreterVersion: 'Python 3.11.3' })).not.toBe(environmentDigest(python))
    expect(environmentDigest({ ...python, packages: ['numpy==1.26.5', 'pandas==2.2.2'] })).not.toBe(environmentDigest(python))
    expect(environmentDigest({ ...python, packages: [] })).not.toBe(environmentDigest(python))
  })

  it('sorts packages by UTF-8 bytes and escapes them as RFC 8785 does', () => {
    const text = '{"interpreter_version":"R 4.2.2","packages":["Zoo","pkg\\"q","ü-1","😀"]}'
    expect(environmentDigest({ interpreterVersion: 'R 4.2.2', packages: ['😀', 'ü-1', 'pkg"q', 'Zoo'] })).toBe(
      `0x${createHash('sha256').update(text).digest('hex')}`,
    )
  })

  it('refuses an empty version or an empty package name', () => {
    expect(() => environmentDigest({ interpreterVersion: ' \n', packages: [] })).toThrowError(expect.objectContaining({ code: 'ENVIRONMENT_INVALID' }))
    expect(() => environmentDigest({ ...python, packages: ['numpy', ''] })).toThrowError(/Package 1/)
  })
})
