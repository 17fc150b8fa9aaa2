import { describe, expect, it } from 'vitest'
import { canonicalJson } from './canonicalJson.ts'

describe('canonicalJson', () => {
  it('writes the RFC 8785 §3.2.2 example: numbers, escapes and literals', () => {
    const input = String.raw`{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }`
    expect(canonicalJson(JSON.parse(input))).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    )
  })

  it('sorts keys by UTF-16 code units as in the RFC 8785 §3.2.3 example', () => {
    const input = {
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\ud83d\ude00': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
    }
    // The emoji (a surrogate pair starting 0xD83D) sorts before U+FB33 although its code point is larger.
    expect(canonicalJson(input)).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
        '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    )
  })

  it('writes -0 as 0 and large or tiny numbers in ECMAScript form', () => {
    // biome-ignore lint/correctness/noPrecisionLoss: the test is that 2^53 + 1 serializes as the double it parses to
    expect(canonicalJson([-0, 1e21, 1e20, 1e-7, 0.000001, 9007199254740993])).toBe('[0,1e+21,100000000000000000000,1e-7,0.000001,9007199254740992]')
  })

  it('refuses values JSON cannot hold', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, { a: 1n }, undefined]) {
      expect(() => canonicalJson(value)).toThrowError(expect.objectContaining({ code: 'CANONICAL_JSON_INVALID' }))
    }
  })
})
