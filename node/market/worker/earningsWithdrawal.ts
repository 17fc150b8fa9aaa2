// When a worker withdraws its credited earnings: a withdrawal costs ~35k gas, so earnings are
// batched until they reach a threshold; they are looked at after each settlement and every so
// often (refunds and shares arrive too), and withdrawn whole on request or when the worker stops.
import type { EventEmitter } from 'node:events'
import { MarketRevertError } from '../../chain/errors.ts'
import type { WorkerChain } from './workerChain.ts'
import type { WorkerLog } from './workerLog.ts'

export type EarningsWithdrawalParameters = {
  chain: Pick<WorkerChain, 'getAccount' | 'withdraw'>
  log: WorkerLog
  /** Receives 'withdrawn' ({ amount, hash }) after each withdrawal. */
  events: EventEmitter
  /** Withdraw once the credited balance reaches this (wei); 0 = whenever there is something. */
  withdrawAtWei: bigint
  /** Look at the balance at least this often (ms). */
  checkEveryMs: number
}

export type EarningsWithdrawal = {
  /** A job settled: look at the balance on the next call. */
  settled(): void
  /** Withdraws if due; `all` withdraws whatever is credited, whatever the threshold. */
  withdrawIfDue(all?: boolean): Promise<void>
}

export function earningsWithdrawal({ chain, log, events, withdrawAtWei, checkEveryMs }: EarningsWithdrawalParameters): EarningsWithdrawal {
  let due = true
  let lastCheck = 0
  return {
    settled() {
      due = true
    },
    async withdrawIfDue(all = false) {
      if (!all && !due && Date.now() - lastCheck < checkEveryMs) return
      due = false
      lastCheck = Date.now()
      const { balance } = await chain.getAccount()
      if (balance === 0n || (!all && balance < withdrawAtWei)) return
      try {
        const { hash } = await chain.withdraw()
        log('earnings withdrawn', { amountWei: balance, tx: hash })
        events.emit('withdrawn', { amount: balance, hash })
      } catch (error) {
        if (!(error instanceof MarketRevertError && error.errorName === 'MarketNothingToWithdraw')) throw error
      }
    },
  }
}
