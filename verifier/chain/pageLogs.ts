// Reads event logs over a block range in pages, as public RPC providers require: they refuse an
// eth_getLogs over more than about 1,000-10,000 blocks or results. A page refused for its size is
// split in halves (and the pages after it keep the smaller size); any other error is the caller's.

export type LogRange = { fromBlock: bigint; toBlock: bigint }

export type PageLogsParameters<T> = {
  fromBlock: bigint
  toBlock: bigint
  /** One eth_getLogs (or equivalent) over an inclusive block range. */
  read: (range: LogRange) => Promise<T[]>
  /** Blocks per page; default 1,000 (what the strictest public providers allow). */
  pageBlocks?: bigint
  /** Read the newest page first and go back in time: for what lies near the head of a long chain. */
  newestFirst?: boolean
  /** Stop once this holds for the logs read so far (e.g. a job's JobPosted was found going back). */
  until?: (logs: T[]) => boolean
}

export const defaultPageBlocks = 1000n

// What providers answer for a range or result count they refuse (Infura, Alchemy, QuickNode, Ankr,
// public OP Stack and Arbitrum endpoints), and what test/chain's fault proxy answers.
const refusedForSize =
  /more than \d[\d,]* results|too many (results|logs)|block range|range (is )?too (large|wide|big)|exceeds? (the )?max(imum)? (block )?range|limited to a [\d,]+ (block )?range|response size exceeded|log response size/i

/** Whether an RPC error refuses an eth_getLogs for its block range or result count (worth splitting). */
function isLogRangeRefusal(error: unknown): boolean {
  for (let e = error as { message?: unknown; details?: unknown; cause?: unknown } | undefined, depth = 0; e && depth < 8; e = e.cause as typeof e, depth++) {
    if (refusedForSize.test(String(e.details ?? '')) || refusedForSize.test(String(e.message ?? ''))) return true
  }
  return false
}

/** Logs of every page from `fromBlock` to `toBlock` (inclusive), in page order. */
export async function pageLogs<T>({ fromBlock, toBlock, read, pageBlocks = defaultPageBlocks, newestFirst = false, until }: PageLogsParameters<T>): Promise<T[]> {
  const logs: T[] = []
  let size = pageBlocks < 1n ? 1n : pageBlocks
  // Pages still to read, next one last; a refused page is replaced by its two halves.
  const pending: LogRange[] = []
  let edge = newestFirst ? toBlock : fromBlock
  const nextPage = (): LogRange | null => {
    if (newestFirst ? edge < fromBlock : edge > toBlock) return null
    const range = newestFirst ? { fromBlock: max(fromBlock, edge - size + 1n), toBlock: edge } : { fromBlock: edge, toBlock: min(toBlock, edge + size - 1n) }
    edge = newestFirst ? range.fromBlock - 1n : range.toBlock + 1n
    return range
  }
  for (let range = nextPage(); range; range = pending.pop() ?? nextPage()) {
    let page: T[]
    try {
      page = await read(range)
    } catch (error) {
      const blocks = range.toBlock - range.fromBlock + 1n
      if (blocks < 2n || !isLogRangeRefusal(error)) throw error
      const middle = range.fromBlock + blocks / 2n - 1n
      const older = { fromBlock: range.fromBlock, toBlock: middle }
      const newer = { fromBlock: middle + 1n, toBlock: range.toBlock }
      pending.push(...(newestFirst ? [older, newer] : [newer, older]))
      size = min(size, blocks / 2n)
      continue
    }
    logs.push(...page)
    if (until?.(logs)) break
  }
  return logs
}

function min(a: bigint, b: bigint): bigint {
  return a < b ? a : b
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b
}
