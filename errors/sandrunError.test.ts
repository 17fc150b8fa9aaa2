import { describe, expect, it } from 'vitest'
import { errorCodeOf } from './errorCodeOf.ts'
import { errorMessageOf } from './errorMessageOf.ts'
import { type ErrorCodeTable, hostError, SandrunError } from './sandrunError.ts'
import { shortMessageOf } from './shortMessageOf.ts'
import { walkError } from './walkError.ts'

type Code = 'WRONG_INPUT' | 'HOST_BROKE'
const codes: ErrorCodeTable<Code> = { WRONG_INPUT: { statusCode: 422, userFault: true }, HOST_BROKE: hostError }
class ExampleError extends SandrunError<Code> {
  override name = 'ExampleError'
  constructor(code: Code, shortMessage: string, parameters: { details?: string; cause?: unknown } = {}) {
    super(code, shortMessage, codes, parameters)
  }
}

describe('SandrunError', () => {
  it('takes its status and fault from its code table', () => {
    const user = new ExampleError('WRONG_INPUT', 'Fix the input.')
    expect([user.statusCode, user.isUserError]).toEqual([422, true])
    const host = new ExampleError('HOST_BROKE', 'The disk is full.')
    expect([host.statusCode, host.isUserError]).toEqual([500, false])
  })

  it('writes the message as the short message, then the details', () => {
    const error = new ExampleError('WRONG_INPUT', 'Fix the input.', { details: 'Field x is 3.' })
    expect(error.message).toBe('Fix the input.\n\nDetails: Field x is 3.')
    expect([error.shortMessage, error.details, error.name]).toEqual(['Fix the input.', 'Field x is 3.', 'ExampleError'])
    expect(error).toBeInstanceOf(SandrunError)
  })

  it('walks its causes like viem: the first match, or the deepest cause', () => {
    const root = Object.assign(new Error('EACCES: denied'), { code: 'EACCES' })
    const middle = new ExampleError('HOST_BROKE', 'Cannot write.', { cause: root })
    const top = new ExampleError('WRONG_INPUT', 'Could not save.', { cause: middle })
    expect(top.walk()).toBe(root)
    expect(top.walk((e) => e instanceof ExampleError && e.code === 'HOST_BROKE')).toBe(middle)
    expect(top.walk((e) => e === 'nothing')).toBeNull()
    expect(walkError('a string')).toBe('a string')
  })

  it('stops on a cause cycle', () => {
    const a = new Error('a')
    const b = new Error('b', { cause: a })
    a.cause = b
    expect(walkError(a, () => false)).toBeNull()
  })
})

describe('reading any thrown value', () => {
  it('finds string codes on Sandrun, Node and library errors only', () => {
    expect(errorCodeOf(new ExampleError('HOST_BROKE', 'x'))).toBe('HOST_BROKE')
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'ENOENT' }))).toBe('ENOENT')
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 1 }))).toBeUndefined()
    expect(errorCodeOf({ code: 'ENOENT' })).toBeUndefined()
    expect(errorCodeOf(undefined)).toBeUndefined()
  })

  it('gives the short message where there is one, else the message or the text', () => {
    expect(shortMessageOf(new ExampleError('WRONG_INPUT', 'Fix it.', { details: 'long' }))).toBe('Fix it.')
    expect(shortMessageOf(new Error('plain'))).toBe('plain')
    expect(shortMessageOf('thrown text')).toBe('thrown text')
    expect(errorMessageOf(new ExampleError('WRONG_INPUT', 'Fix it.', { details: 'long' }))).toBe('Fix it.\n\nDetails: long')
    expect(errorMessageOf(42)).toBe('42')
  })
})
