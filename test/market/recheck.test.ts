// A worker skips a job it is not drawn for yet (or may not commit to yet) and looks again when the
// chain's clock gets there, not after a wall-clock estimate: on a chain whose clock runs ahead of
// the host's (an L2 catching up, a test chain moved by hand) it takes the job as soon as it may.
import { EventEmitter, once } from 'node:events'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { startWorkerHarness, type WorkerHarness } from './workerHarness.ts'
import type { ChainJobId } from '../../verifier/index.ts'

let h: WorkerHarness
beforeAll(async () => {
  h = await startWorkerHarness()
})
afterAll(async () => h?.stop())

type Decision = { taken: boolean; recheckAt?: number }

it('a worker skipped for now takes the job once chain time reaches its recheck time', async () => {
  const decisions = new EventEmitter()
  const seen = new Map<string, Decision[]>()
  const next = async (jobId: ChainJobId, index: number): Promise<Decision> => {
    while ((seen.get(jobId.toString())?.length ?? 0) <= index) await once(decisions, 'decision')
    return seen.get(jobId.toString())![index]!
  }
  const worker = await h.startWorker({
    // Wall-clock rechecks out of the way: only chain time can bring the worker back to the job.
    recheckMaxWaitMs: 3_600_000,
    log: (message, context = {}) => {
      if (message !== 'job taken' && message !== 'job skipped') return
      const list = seen.get(String(context.jobId)) ?? []
      list.push({ taken: message === 'job taken', ...(typeof context.recheckAt === 'number' ? { recheckAt: context.recheckAt } : {}) })
      seen.set(String(context.jobId), list)
      decisions.emit('decision')
    },
  })
  // Whether the worker is drawn at once depends on each job's seed (3 in 8 for a lone worker): post
  // until one is skipped with a time to look again.
  let skipped: { jobId: ChainJobId; recheckAt: number } | undefined
  for (let i = 0; i < 20 && !skipped; i++) {
    const { jobId } = await h.postJob({ files: { 'main.sh': 'echo hello\n' }, entrypoint: 'main.sh', replicas: 1 })
    const first = await next(jobId, 0)
    if (first.taken) await worker.phase(jobId, 'settled')
    else if (first.recheckAt !== undefined) skipped = { jobId, recheckAt: first.recheckAt }
  }
  expect(skipped).toBeDefined()
  const { jobId } = skipped!
  // Drawn, then (drawn late) allowed to commit: at most two waits, each ended by moving chain time.
  let decision: Decision = { taken: false, recheckAt: skipped!.recheckAt }
  for (let index = 1; !decision.taken && index <= 2; index++) {
    const now = Number((await h.requester.publicClient.getBlock()).timestamp)
    await h.increaseTime(Math.max(decision.recheckAt! - now, 1))
    decision = await next(jobId, index)
  }
  expect(decision.taken).toBe(true)
  await worker.phase(jobId, 'settled')
  expect((await h.requester.getJob(jobId)).status).toBe('Finalized')
})
