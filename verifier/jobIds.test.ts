// The three kinds of job id must stay apart: passing one where another is expected is a compile
// error (tsc --noEmit checks the @ts-expect-error lines; an unused one fails the build), and each
// constructor refuses what is not that kind of id.
import { describe, expect, expectTypeOf, it } from 'vitest'
import { type ChainJobId, chainJobId, type GatewayJobId, gatewayJobId, type Hex, parseSpecHash, type SpecHash, specHash } from './index.ts'

const takesGatewayId = (id: GatewayJobId): string => id
const takesChainId = (id: ChainJobId): bigint => id
const takesSpecHash = (hash: SpecHash): Hex => hash

describe('job id kinds', () => {
  const gatewayId = gatewayJobId('job-0123456789abcdef0123456789abcdef')
  const chainId = chainJobId(7n)
  const spec = parseSpecHash(`0x${'ab'.repeat(32)}`)

  it('are not interchangeable in the types', () => {
    expectTypeOf<GatewayJobId>().not.toEqualTypeOf<string>()
    expectTypeOf<ChainJobId>().not.toEqualTypeOf<bigint>()
    expectTypeOf<SpecHash>().not.toEqualTypeOf<Hex>()
    expectTypeOf<string>().not.toExtend<GatewayJobId>()
    expectTypeOf<bigint>().not.toExtend<ChainJobId>()
    expectTypeOf<Hex>().not.toExtend<SpecHash>()
    expectTypeOf<SpecHash>().not.toExtend<GatewayJobId>()
    expectTypeOf<GatewayJobId>().not.toExtend<SpecHash>()
    // Each is still its plain value wherever a plain value is asked for (logs, JSON, viem args).
    expectTypeOf<GatewayJobId>().toExtend<string>()
    expectTypeOf<ChainJobId>().toExtend<bigint>()
    expectTypeOf<SpecHash>().toExtend<Hex>()
    expectTypeOf(specHash).returns.toEqualTypeOf<SpecHash>()

    // @ts-expect-error a spec hash is not a gateway job id
    takesGatewayId(spec)
    // @ts-expect-error a plain string (a chain id in decimal, say) is not a gateway job id
    takesGatewayId('7')
    // @ts-expect-error a plain bigint is not a chain job id until chainJobId() made it one
    takesChainId(7n)
    // @ts-expect-error a gateway job id is not a spec hash
    takesSpecHash(gatewayId)
    // @ts-expect-error any other 32-byte hash (a bundle's, a result root) is not a spec hash
    takesSpecHash(`0x${'cd'.repeat(32)}` as Hex)
    expect([takesGatewayId(gatewayId), takesChainId(chainId), takesSpecHash(spec)]).toEqual([gatewayId, 7n, spec])
  })

  it('are only their own values at run time: brands add nothing to JSON', () => {
    expect(JSON.stringify({ id: gatewayId, spec })).toBe(`{"id":"job-0123456789abcdef0123456789abcdef","spec":"0x${'ab'.repeat(32)}"}`)
    expect(String(chainId)).toBe('7')
  })

  it('chainJobId takes the contract id or its decimal spelling, nothing else', () => {
    expect(chainJobId('42')).toBe(42n)
    expect(chainJobId((2n ** 256n - 1n).toString())).toBe(2n ** 256n - 1n)
    for (const bad of ['', '-1', '007', '1.5', '0x10', ' 1', (2n ** 256n).toString()])
      expect(() => chainJobId(bad), bad).toThrowError(expect.objectContaining({ code: 'CHAIN_JOB_ID_INVALID', statusCode: 400 }))
    expect(() => chainJobId(-1n)).toThrowError(expect.objectContaining({ code: 'CHAIN_JOB_ID_INVALID' }))
    expect(() => chainJobId(2n ** 256n)).toThrowError(expect.objectContaining({ code: 'CHAIN_JOB_ID_INVALID' }))
  })

  it('parseSpecHash writes 0x + 64 lowercase hex and refuses anything else', () => {
    expect(parseSpecHash(`0x${'AB'.repeat(32)}`)).toBe(`0x${'ab'.repeat(32)}`)
    for (const bad of ['ab'.repeat(32), `0x${'ab'.repeat(31)}`, `0x${'zz'.repeat(32)}`])
      expect(() => parseSpecHash(bad), bad).toThrowError(expect.objectContaining({ code: 'HEX_INVALID' }))
  })
})
