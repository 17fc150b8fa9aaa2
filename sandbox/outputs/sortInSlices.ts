// Sorts tens of thousands of items by a string key without holding the event loop: the keys are
// made, runs of a few thousand sorted and then merged, with a turn for the event loop between slices.
import type { Yielder } from '../createYielder.ts'

const runLength = 2048

/** `items` ordered by `key` (JS string order: for latin1-rendered bytes, that is byte order). */
export async function sortInSlices<T>(items: readonly T[], key: (item: T) => string, yielder: Yielder): Promise<T[]> {
  let current: { key: string; item: T }[] = new Array(items.length)
  for (let i = 0; i < items.length; i++) {
    current[i] = { key: key(items[i]!), item: items[i]! }
    if ((i & 4095) === 4095) await yielder()
  }
  const compare = (a: { key: string }, b: { key: string }) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)
  for (let start = 0; start < current.length; start += runLength) {
    const run = current.slice(start, start + runLength).sort(compare)
    for (let i = 0; i < run.length; i++) current[start + i] = run[i]!
    await yielder()
  }
  for (let width = runLength; width < current.length; width *= 2) {
    const next: typeof current = new Array(current.length)
    for (let left = 0; left < current.length; left += 2 * width) {
      const middle = Math.min(left + width, current.length)
      const end = Math.min(left + 2 * width, current.length)
      let i = left
      let j = middle
      for (let k = left; k < end; k++) {
        next[k] = j >= end || (i < middle && current[i]!.key <= current[j]!.key) ? current[i++]! : current[j++]!
        if ((k & 4095) === 4095) await yielder()
      }
    }
    current = next
  }
  return current.map(({ item }) => item)
}
