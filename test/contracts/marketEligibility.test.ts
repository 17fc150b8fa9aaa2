// The TypeScript mirror of the contract's eligibility (node/chain/eligibility) must decide exactly
// as the deployed contract does: workers skip jobs on its word, and the simulation under bench/
// uses it for its numbers. Thousands of seeded random inputs, plus tickets placed right at the
// threshold where any rounding difference would show, go through both.
import { bytesToHex, type Address, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sandrunMarketAbi } from '../../contracts/abi.ts'
import { eligibilityTicket, escalationSlots, isEligible, seedBlockFor } from '../../node/chain/eligibility/index.ts'
import { startMarketHarness, type MarketHarness } from './marketHarness.ts'
import { chainJobId } from '../../verifier/index.ts'

const SEED = Number(process.env.SEED ?? 20261128)
const CASES = Number(process.env.ELIGIBILITY_CASES ?? 3000)

/** xorshift-style bigint generator over a mulberry32 stream: reproducible random inputs. */
function prng(seed: number): { int(lo: number, hi: number): number; bits(n: number): bigint } {
  let a = seed >>> 0
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
  return {
    int: (lo, hi) => lo + (next() % (hi - lo + 1)),
    bits(n) {
      let value = 0n
      for (let i = 0; i < n; i += 32) value = (value << 32n) | BigInt(next())
      return value & ((1n << BigInt(n)) - 1n)
    },
  }
}

let h: MarketHarness
beforeAll(async () => {
  h = await startMarketHarness({ accounts: 1 })
})
afterAll(async () => h?.stop())

type Case = { ticket: bigint; weightGwei: bigint; totalGwei: bigint; slots: number; elapsed: number; window: number }

function randomCase(r: ReturnType<typeof prng>): Case {
  const weightGwei = r.int(0, 9) === 0 ? 0n : r.bits(r.int(1, 48))
  const totalGwei = weightGwei + r.bits(r.int(1, 63))
  const window = r.int(1, 2 ** 22 - 1)
  return { ticket: r.bits(128), weightGwei, totalGwei, slots: r.int(1, 31), elapsed: r.int(0, window + 100), window }
}

/** The smallest ticket that is not eligible, found with the TypeScript mirror (a binary search). */
function threshold(c: Omit<Case, 'ticket'>): bigint {
  let low = 0n
  let high = 1n << 128n
  while (low < high) {
    const middle = (low + high) / 2n
    if (isEligible({ ...c, ticket: middle })) low = middle + 1n
    else high = middle
  }
  return low
}

const onChain = (c: Case) =>
  h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'isEligible', args: [c.ticket, c.weightGwei, c.totalGwei, BigInt(c.slots), BigInt(c.elapsed), BigInt(c.window)] })

describe('eligibility: TypeScript and the contract agree', () => {
  it(`on ${CASES} random inputs (seed ${SEED})`, { timeout: 120_000 }, async () => {
    const r = prng(SEED)
    const cases = Array.from({ length: CASES }, () => randomCase(r))
    const chain = await Promise.all(cases.map(onChain))
    const mismatches = cases.filter((c, i) => chain[i] !== isEligible(c))
    expect(mismatches, `first mismatch: ${JSON.stringify(mismatches[0], (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`).toEqual([])
    // The inputs must have exercised both answers, or the agreement proved little.
    expect(chain.filter(Boolean).length).toBeGreaterThan(CASES / 20)
    expect(chain.filter((e) => !e).length).toBeGreaterThan(CASES / 20)
  })

  it('at the exact threshold ticket, and one below it', { timeout: 120_000 }, async () => {
    const r = prng(SEED + 1)
    const cases: Case[] = []
    while (cases.length < 400) {
      const c = randomCase(r)
      const limit = threshold(c)
      if (limit === 0n || limit === 1n << 128n) continue
      cases.push({ ...c, ticket: limit - 1n }, { ...c, ticket: limit })
    }
    const chain = await Promise.all(cases.map(onChain))
    expect(chain).toEqual(cases.map((_, i) => i % 2 === 0))
  })

  it('tickets, seed anchors and escalation sizes', async () => {
    const r = prng(SEED + 2)
    for (let i = 0; i < 50; i++) {
      const seed = bytesToHex(Uint8Array.from({ length: 32 }, () => r.int(0, 255))) as Hex
      const jobId = chainJobId(r.bits(r.int(1, 64)))
      const worker = bytesToHex(Uint8Array.from({ length: 20 }, () => r.int(0, 255))) as Address
      const ticket = await h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'ticketOf', args: [seed, jobId, worker] })
      expect(ticket).toBe(eligibilityTicket({ seed, jobId, worker }))
      const seedBlock = r.bits(r.int(1, 40))
      const blockNumber = seedBlock + 1n + r.bits(r.int(1, 12))
      expect(await h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'seedBlockFor', args: [seedBlock, blockNumber] })).toBe(
        seedBlockFor(seedBlock, blockNumber),
      )
    }
    for (let replicas = 1; replicas <= 16; replicas++) {
      expect(Number(await h.publicClient.readContract({ address: h.market, abi: sandrunMarketAbi, functionName: 'escalationSlots', args: [BigInt(replicas)] }))).toBe(escalationSlots(replicas))
    }
  })
})

describe('eligibility: what it promises', () => {
  const base = { totalGwei: 1_000_000n, slots: 3, window: 800 }
  const share = (weightGwei: bigint, elapsed: number) => Number(threshold({ ...base, weightGwei, elapsed })) / 2 ** 128

  it('nobody is eligible during the commit delay (the first eighth of the window)', () => {
    expect(share(base.totalGwei, 99)).toBe(0)
    expect(share(base.totalGwei, 100)).toBeGreaterThan(0)
  })

  it('starts at 3/8 of the committee in expectation and doubles every eighth of the window', () => {
    const w = 1_000n // 0.1 % of the stake
    expect(share(w, 100)).toBeCloseTo((3 / 8) * 3 * 0.001, 12)
    expect(share(w, 200)).toBeCloseTo(2 * (3 / 8) * 3 * 0.001, 12)
    expect(share(w, 800)).toBeCloseTo(128 * (3 / 8) * 3 * 0.001, 12)
  })

  it('is linear in stake: split stake has the same expected number of eligible addresses', () => {
    for (const elapsed of [100, 333, 500]) {
      const whole = share(9_000n, elapsed)
      const split = 3 * share(3_000n, elapsed)
      expect(Math.abs(split - whole)).toBeLessThan(1e-9)
    }
  })
})
