// The first block at or after a chain time, found by bisection over block timestamps (about 20
// block reads on a chain of a million blocks): lets a node read only the recent part of a long
// chain's logs instead of scanning from the deployment block.
import type { PublicClient } from 'viem'

export type FirstBlockSinceParameters = {
  /** Chain time (unix seconds). */
  timestamp: bigint
  /** Never answer below this block (the deployment block). */
  lowest?: bigint
}

export async function firstBlockSince(client: PublicClient, { timestamp, lowest = 0n }: FirstBlockSinceParameters): Promise<bigint> {
  const head = await client.getBlock({ blockTag: 'latest' })
  if (head.timestamp < timestamp) return head.number
  const timeOf = async (number: bigint): Promise<bigint> => (await client.getBlock({ blockNumber: number })).timestamp
  // Invariant: the answer lies in [low, high]; block `high` is at or after `timestamp`.
  let low = lowest
  let high = head.number
  while (low < high) {
    const middle = (low + high) / 2n
    if ((await timeOf(middle)) >= timestamp) high = middle
    else low = middle + 1n
  }
  return high
}
