// The worker saves one job's record from two places at once: the commit's follow-up (committed)
// and the poll loop, which may reveal in the meantime (revealed). Saves that overlap must all
// succeed and leave the last one on disk; two saves sharing job.json.tmp had one rename fail with
// ENOENT, and the worker dropped a job it had committed and revealed.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { chainJobId, parseSpecHash } from '../../../verifier/index.ts'
import { openStorage } from '../../storage/openStorage.ts'
import { createJobStore, sealedRecord, type WorkerJobPhase } from './jobStore.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'sandrun-jobstore-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function openStore(name: string) {
  const dataDir = path.join(dir, name)
  const scratch = await openStorage({ root: path.join(dataDir, 'scratch'), requireTmpfs: false, flag: '--scratch-dir' })
  const store = await createJobStore({ dataDir, scratch })
  return {
    store,
    close: async () => {
      await store.close()
      await scratch.close()
    },
  }
}

const record = () =>
  sealedRecord({ chainId: 31337, market: '0x00000000000000000000000000000000000000cc', jobId: chainJobId(1n), specHash: parseSpecHash(`0x${'ab'.repeat(32)}`), round: 0, root: `0x${'cd'.repeat(32)}`, faulty: false })

describe('job store saves of one job', () => {
  it('all succeed when they overlap, and the last one called is the one on disk', async () => {
    const { store, close } = await openStore('overlap')
    // One record object changed between saves, as the worker's update() does.
    const job = record()
    const phases: WorkerJobPhase[] = ['sealed', 'committed', 'revealed', 'committed', 'revealed', 'settled']
    const saves = phases.map((phase, index) => {
      Object.assign(job, { phase, round: index % 2, updatedAt: index })
      return store.save(job)
    })
    const outcomes = await Promise.allSettled(saves)
    expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([])
    const { records, orphans } = await store.list()
    expect(orphans).toEqual([])
    expect(records).toEqual([{ ...job, phase: 'settled', round: 1, updatedAt: phases.length - 1 }])
    await close()
  })

  it('a removal waits for the saves before it, and a save after it writes the record anew', async () => {
    const { store, close } = await openStore('remove')
    const job = record()
    const first = store.save({ ...job, phase: 'committed' })
    const removed = store.remove(job.jobId)
    await Promise.all([first, removed])
    expect((await store.list()).records).toEqual([])
    await Promise.all([store.save({ ...job, phase: 'committed' }), store.remove(job.jobId), store.save({ ...job, phase: 'revealed' })])
    expect((await store.list()).records).toEqual([{ ...job, phase: 'revealed' }])
    await close()
  })
})
