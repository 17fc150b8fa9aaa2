// Per-job host uids: two services never share a block, a uid comes back only once given back (the
// least recently freed first), and a range that collides with the host's users is refused.
import { describe, expect, it } from 'vitest'
import { claimJobUsers, uidRangeConflicts } from './claimJobUsers.ts'

const range = { first: 2_110_000_000, blockSize: 3, blocks: 2 }

describe('job users', () => {
  it('gives every job a uid of its own and two services different blocks', async () => {
    const [a, b] = [await claimJobUsers(range), await claimJobUsers(range)]
    try {
      expect(a.first).toBe(range.first)
      expect(b.first).toBe(range.first + range.blockSize)
      await expect(claimJobUsers(range)).rejects.toMatchObject({ code: 'HOST_UNSUPPORTED', shortMessage: expect.stringMatching(/claimed by other Sandrun services/) })
      const taken = [a.take(), a.take(), a.take()]
      expect(new Set(taken.map((u) => u.uid)).size).toBe(3)
      expect(taken.every((u) => u.gid === u.uid && u.uid >= a.first && u.uid < a.first + 3)).toBe(true)
      expect(() => a.take()).toThrow(/All 3 job uids/)
      a.give(taken[1]!)
      a.give(taken[0]!)
      expect(a.take()).toEqual(taken[1])
      expect(a.take()).toEqual(taken[0])
    } finally {
      await a.close()
      await b.close()
    }
    // Closed: the block is free for the next service.
    const c = await claimJobUsers(range)
    expect(c.first).toBe(range.first)
    await c.close()
  })

  it('refuses a range that holds a user of this host', async () => {
    expect(uidRangeConflicts(0, 1)).toEqual(expect.arrayContaining([expect.stringMatching(/^root \(0\) in \/etc\/passwd/)]))
    await expect(claimJobUsers({ first: 1, blockSize: 1000, blocks: 1 })).rejects.toMatchObject({ code: 'HOST_UNSUPPORTED', details: expect.stringMatching(/in \/etc\/passwd/) })
  })
})
