import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { manualClock } from '../../../test/retention/manualClock.ts'
import { resultClaimMessage } from '../resultClaim.ts'
import type { WorkerJobRecord } from './jobStore.ts'
import { resultRetention } from './resultRetention.ts'
import { chainJobId } from '../../../verifier/index.ts'

const requester = privateKeyToAccount(generatePrivateKey())
const stranger = privateKeyToAccount(generatePrivateKey())
const worker = privateKeyToAccount(generatePrivateKey()).address
const market = '0x00000000000000000000000000000000000000aa'
const minute = 60_000

const seven = chainJobId(7n)

function setup() {
  const clock = manualClock(0)
  const retention = resultRetention({ clock, resultWindowMs: 10 * minute, retentionMaxMs: 60 * minute, chainId: 31337, market, worker })
  const record = (phase: WorkerJobRecord['phase'], settledAt: number | null = null) => ({ jobId: seven, phase, settledAt }) as WorkerJobRecord
  const claimBy = (account: typeof requester, forWorker = worker) => account.signMessage({ message: resultClaimMessage({ chainId: 31337, market, jobId: seven, worker: forWorker }) })
  retention.sealed(seven, requester.address)
  return { clock, retention, record, claimBy }
}

describe('worker result retention', () => {
  it('keeps a settled result for the result window, then lets the whole job go', async () => {
    const { clock, retention, record } = setup()
    await clock.advance(5 * minute)
    expect(retention.collect([record('settled', 5 * minute)])).toEqual([])
    await clock.advance(10 * minute)
    expect(retention.collect([record('settled', 5 * minute)])).toEqual([{ jobId: seven, scope: 'job', reason: 'result window passed' }])
    expect(retention.holds(seven)).toBe(false)
  })

  it('lets a settled job go once its requester claimed the result, and for no other signature', async () => {
    const { retention, record, claimBy } = setup()
    expect(await retention.claim(seven, await claimBy(stranger))).toBe(false)
    expect(await retention.claim(seven, await claimBy(requester, stranger.address))).toBe(false)
    expect(await retention.claim(seven, '0x1234')).toBe(false)
    expect(retention.collect([record('settled', 0)])).toEqual([])
    expect(await retention.claim(seven, await claimBy(requester))).toBe(true)
    // Claimed before settlement: kept until the job settles (the reveal may still be pending).
    expect(retention.collect([record('revealed')])).toEqual([])
    expect(retention.collect([record('settled', 0)])).toEqual([{ jobId: seven, scope: 'job', reason: 'served to its requester' }])
  })

  it('drops a result 1 hour after the run even when the job has not settled, keeping the record', async () => {
    const { clock, retention, record } = setup()
    await clock.advance(60 * minute - 1)
    expect(retention.collect([record('committed')])).toEqual([])
    await clock.advance(1)
    expect(retention.collect([record('committed')])).toEqual([{ jobId: seven, scope: 'result', reason: 'retention maximum' }])
    expect(retention.holds(seven)).toBe(false)
    expect(retention.collect([record('committed')])).toEqual([])
  })
})
