import { describe, expect, it } from 'vitest'
import { generateWorkerKey } from '../../../verifier/index.ts'
import { parseWorkers } from './readWorkersFile.ts'

const key = generateWorkerKey()

describe('parseWorkers', () => {
  it('reads Sandrun workers.json entries and pins each endpoint to the worker key', () => {
    const [worker] = parseWorkers({ value: [{ worker_id: key.workerId, endpoint: '/ip4/10.0.0.5/tcp/4001', max_concurrent_jobs: 4 }], source: 'workers.json' })
    expect(worker!.maxConcurrentJobs).toBe(4)
    expect(worker!.peerId).toMatch(/^12D3KooW/)
    expect(worker!.endpoint).toBe(`/ip4/10.0.0.5/tcp/4001/p2p/${worker!.peerId}`)
  })

  it('refuses entries that would let the wrong peer in or that are mistyped, saying what to fix', () => {
    const parse = (value: unknown) => () => parseWorkers({ value, source: 'workers.json' })
    expect(parse({ workers: [] })).toThrow(/must be a list/)
    expect(parse([{ worker_id: 'not-a-key', max_concurrent_jobs: 1 }])).toThrow(/base64 of a 32-byte Ed25519 public key/)
    expect(parse([{ worker_id: key.workerId }, { worker_id: key.workerId }])).toThrow(/listed twice/)
    expect(parse([{ worker_id: key.workerId, max_jobs: 2 }])).toThrow(/unknown field/)
    expect(parse([{ worker_id: key.workerId, max_concurrent_jobs: 0 }])).toThrow(/max_concurrent_jobs/)
    const other = parseWorkers({ value: [{ worker_id: generateWorkerKey().workerId }], source: 'x' })[0]!.peerId
    expect(parse([{ worker_id: key.workerId, endpoint: `/ip4/10.0.0.5/tcp/4001/p2p/${other}` }])).toThrow(/endpoint names peer/)
  })
})
