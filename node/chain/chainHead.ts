// The chain's pending block and suggested tip, read for everyone in one process. A worker's chain
// loop, its transaction watch, its commit timing and its fee estimates each looked at the pending
// block on their own, 10-12 times a second per worker on 2-second blocks (docs/BENCHMARKS.md,
// "RPC requests per worker"): a public provider's rate limit is a few tens per second per key. A
// caller says how old a read it can use (its own polling interval); a decision that must see the
// chain as it is now asks for a read that starts after its call (callers in one turn of the event
// loop share it). Nothing the chain holds changes between blocks, so the tip is read once per head.
import type { Hash, PublicClient } from 'viem'

export type PendingBlock = {
  number: bigint
  /** Chain time (s) of the block the next transaction lands in: the contract's windows run on it. */
  timestamp: number
  baseFee: bigint
  /** Hash of the block it builds on: it changes with every new block and with a reorg. */
  head: Hash
}

export type ChainHead = {
  /**
   * The pending block from a read that started at most `maxAgeMs` ago; 0 (the default): a read that
   * starts now. A failed read is not handed to later callers.
   */
  pending(maxAgeMs?: number): Promise<PendingBlock>
  /** The node's suggested priority fee for blocks on `head` (0 when the node cannot say). */
  tip(head: Hash): Promise<bigint>
}

export function chainHead(publicClient: PublicClient, now: () => number = performance.now.bind(performance)): ChainHead {
  let last: { startedAt: number; block: Promise<PendingBlock> } | null = null
  // A fresh read starts once this turn of the event loop is done: every caller of the turn (the
  // announcements one network read brought) gets that one read, which started after each call.
  let scheduled: Promise<PendingBlock> | null = null
  let tip: { head: Hash; value: Promise<bigint> } | null = null

  async function read(): Promise<PendingBlock> {
    const block = await publicClient.getBlock({ blockTag: 'pending' })
    const number = block.number ?? (await publicClient.getBlockNumber({ cacheTime: 0 })) + 1n
    return { number, timestamp: Number(block.timestamp), baseFee: block.baseFeePerGas ?? (await publicClient.getGasPrice()), head: block.parentHash }
  }

  return {
    pending(maxAgeMs = 0) {
      const at = now()
      if (last && maxAgeMs > 0 && at - last.startedAt <= maxAgeMs) return last.block
      if (scheduled) return scheduled
      const turnEnded = new Promise<void>((resolve) => setImmediate(resolve))
      const current: { startedAt: number; block: Promise<PendingBlock> } = {
        startedAt: at,
        block: turnEnded.then(() => {
          scheduled = null
          current.startedAt = now()
          return read()
        }),
      }
      scheduled = current.block
      last = current
      current.block.catch(() => {
        if (last === current) last = null
      })
      return current.block
    },
    tip(head) {
      if (tip?.head === head) return tip.value
      const current: { head: Hash; value: Promise<bigint> } = { head, value: Promise.resolve(0n) }
      current.value = publicClient.estimateMaxPriorityFeePerGas().catch(() => {
        if (tip === current) tip = null
        return 0n
      })
      tip = current
      return current.value
    },
  }
}
