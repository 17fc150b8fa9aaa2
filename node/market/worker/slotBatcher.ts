// Gathers a worker's commits (or, in a second batcher, its reveals) that fall due together into one
// transaction (commitMany, revealMany): those asked for within `gatherMs` of the first go out
// together. A batch does not wait for the previous one's receipt (the account pipelines its
// transactions): a commit has a deadline, and a block's wait can cost it its window. One alone goes
// as a plain commit (reveal): cheaper.
// Each caller learns its own outcome: the batch's receipt, or the error its item met on chain.
// Replacement, reorg resends and the urgent re-pricing near a deadline are the account's
// (accountTransactions.ts): a batch is one transaction like any other, due by its earliest deadline.
import type { BatchItemOutcome, TxResult } from '../../chain/marketClient.ts'

export type SlotItem<T> = T & { deadline?: number | undefined }

export type SlotBatcherParameters<T> = {
  /** Sends one item alone (commit, reveal). */
  sendOne(item: SlotItem<T>): Promise<TxResult>
  /** Sends several in one transaction (commitMany, revealMany): each item's outcome, in order. */
  sendMany(items: T[], options: { deadline?: number | undefined }): Promise<TxResult & { outcomes: BatchItemOutcome[] }>
  /** The contract's MAX_SLOT_BATCH. */
  maxBatch?: number
  /** How long the first item of a batch waits for others due at the same time (ms). */
  gatherMs?: number
}

/** The contract's MAX_SLOT_BATCH. */
export const maxSlotBatch = 32

export const defaultSlotBatcherOptions = {
  // The jobs of one chain tick ask within a few ms of each other; a block is seconds.
  gatherMs: 100,
} as const

type Waiting<T> = { item: SlotItem<T>; resolve: (result: TxResult) => void; reject: (error: unknown) => void }

/** Returns the send function callers use in place of sendOne. */
export function slotBatcher<T>({
  sendOne,
  sendMany,
  maxBatch = maxSlotBatch,
  gatherMs = defaultSlotBatcherOptions.gatherMs,
}: SlotBatcherParameters<T>): (item: SlotItem<T>) => Promise<TxResult> {
  const waiting: Array<Waiting<T>> = []
  let gathering = false

  async function sendBatch(batch: Array<Waiting<T>>): Promise<void> {
    if (batch.length === 1) {
      const [{ item, resolve, reject }] = batch as [Waiting<T>]
      return sendOne(item).then(resolve, reject)
    }
    const deadlines = batch.map((w) => w.item.deadline).filter((deadline): deadline is number => deadline !== undefined)
    const items = batch.map(({ item: { deadline: _deadline, ...rest } }) => rest as T)
    try {
      const { hash, receipt, outcomes } = await sendMany(items, { deadline: deadlines.length > 0 ? Math.min(...deadlines) : undefined })
      for (const [i, w] of batch.entries()) {
        const outcome = outcomes[i]
        if (outcome) w.reject(outcome)
        else w.resolve({ hash, receipt })
      }
    } catch (error) {
      for (const w of batch) w.reject(error)
    }
  }

  function flush(): void {
    gathering = false
    while (waiting.length > 0) void sendBatch(waiting.splice(0, maxBatch))
  }

  return (item) => {
    const sent = new Promise<TxResult>((resolve, reject) => waiting.push({ item, resolve, reject }))
    if (!gathering) {
      gathering = true
      setTimeout(flush, gatherMs)
    }
    return sent
  }
}
