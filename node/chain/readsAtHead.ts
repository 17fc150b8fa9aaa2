// Reads of what the chain holds, made once per head (the hash of the block they build on) and
// shared: nothing changes until the next block, and pollers look several times per block. A read
// may show a later block than its head (it is read again for that one), never an earlier one. The
// last few heads are kept (a caller's head may be a poll old); a failed read is not kept; clear()
// drops them all (the node's own transaction was mined).
import type { Hex } from 'viem'

export type ReadsAtHead = {
  /** `read()`'s answer for `key` at `head`, read once; without a head, read every time. */
  at<T>(head: Hex | undefined, key: string, read: () => Promise<T>): Promise<T>
  clear(): void
}

export function readsAtHead({ heads: kept = 4 }: { heads?: number } = {}): ReadsAtHead {
  const heads = new Map<Hex, Map<string, Promise<unknown>>>()
  return {
    at<T>(head: Hex | undefined, key: string, read: () => Promise<T>): Promise<T> {
      if (head === undefined) return read()
      let values = heads.get(head)
      if (!values) {
        if (heads.size >= kept) heads.delete(heads.keys().next().value as Hex)
        values = new Map()
        heads.set(head, values)
      }
      const cached = values.get(key)
      if (cached) return cached as Promise<T>
      const value = read()
      const map = values
      map.set(key, value)
      value.catch(() => {
        if (map.get(key) === value) map.delete(key)
      })
      return value
    },
    clear: () => heads.clear(),
  }
}
