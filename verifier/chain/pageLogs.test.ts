import { describe, expect, it } from 'vitest'
import { pageLogs, type LogRange } from './pageLogs.ts'

// A provider's log index: one log per listed block, refusing what public providers refuse.
function provider({ logBlocks, maxBlocks = 1000n, maxResults = 10_000 }: { logBlocks: bigint[]; maxBlocks?: bigint; maxResults?: number }) {
  const calls: LogRange[] = []
  const read = async ({ fromBlock, toBlock }: LogRange): Promise<bigint[]> => {
    calls.push({ fromBlock, toBlock })
    if (toBlock - fromBlock + 1n > maxBlocks) throw Object.assign(new Error('RPC Request failed.'), { details: `exceed maximum block range: ${maxBlocks}` })
    const found = logBlocks.filter((b) => b >= fromBlock && b <= toBlock)
    if (found.length > maxResults) throw Object.assign(new Error('RPC Request failed.'), { details: `query returned more than ${maxResults} results` })
    return found
  }
  return { read, calls }
}

describe('pageLogs', () => {
  it('reads a long range in pages of at most 1,000 blocks, in order, nothing twice', async () => {
    const logBlocks = [0n, 999n, 1000n, 54_321n, 99_999n, 100_000n]
    const { read, calls } = provider({ logBlocks })
    expect(await pageLogs({ fromBlock: 0n, toBlock: 100_000n, read })).toEqual(logBlocks)
    expect(calls).toHaveLength(101)
    expect(calls.every((c) => c.toBlock - c.fromBlock < 1000n)).toBe(true)
  })

  it('splits a page refused for too many results, and one refused for its range', async () => {
    const dense = Array.from({ length: 40 }, (_, i) => 500n + BigInt(i))
    const { read, calls } = provider({ logBlocks: [10n, ...dense, 1500n], maxResults: 8 })
    expect(await pageLogs({ fromBlock: 0n, toBlock: 1999n, read })).toEqual([10n, ...dense, 1500n])
    expect(calls.length).toBeGreaterThan(2)

    const narrow = provider({ logBlocks: [5n, 250n, 399n], maxBlocks: 100n })
    expect(await pageLogs({ fromBlock: 0n, toBlock: 399n, read: narrow.read })).toEqual([5n, 250n, 399n])
  })

  it('goes back from the head and stops once it found what it looks for', async () => {
    const { read, calls } = provider({ logBlocks: [7n, 1_000_100n, 1_000_500n] })
    const found = await pageLogs({ fromBlock: 0n, toBlock: 1_000_999n, read, newestFirst: true, until: (logs) => logs.includes(1_000_100n) })
    expect(found.sort()).toEqual([1_000_100n, 1_000_500n])
    expect(calls).toEqual([{ fromBlock: 1_000_000n, toBlock: 1_000_999n }])
  })

  it('passes on an error that is not about the page size, and a refused single block', async () => {
    await expect(pageLogs({ fromBlock: 0n, toBlock: 10n, read: async () => Promise.reject(new Error('HTTP request failed. Status: 429')) })).rejects.toThrow(/429/)
    const { read } = provider({ logBlocks: [3n, 3n, 3n], maxResults: 2 })
    await expect(pageLogs({ fromBlock: 0n, toBlock: 10n, read })).rejects.toThrow()
  })
})
