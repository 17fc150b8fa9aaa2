import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { checkResultFiles } from './checkResultFiles.ts'
import { P2pError } from './errors.ts'
import { resultService, type JobResultPayload } from './resultService.ts'
import { startTestHosts, type StartTestHostsReturnType } from './startTestHosts.ts'
import { chainJobId } from '../../verifier/index.ts'

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const sha = (data: Uint8Array): string => `0x${createHash('sha256').update(data).digest('hex')}`

function payload(files: Record<string, Uint8Array>): JobResultPayload {
  return {
    entries: Object.entries(files).map(([name, content]) => ({ name, sha256: sha(content), size: content.byteLength })),
    files: Object.entries(files).map(([name, content]) => ({ name, content })),
  }
}

describe('result protocol', () => {
  let net: StartTestHostsReturnType
  const result = payload({ exit: text('0:exited'), stdout: text('hello\n'), stderr: text(''), 'outputs/big.bin': new Uint8Array(700_000).fill(7) })

  beforeAll(async () => {
    net = await startTestHosts({ count: 2 })
    await resultService({ getResult: (jobId) => (jobId === 42n ? result : undefined) })(net.hosts[1]!.libp2p).start()
  })
  afterAll(async () => net?.stop())

  it('fetches entries and file contents by job id, and they check out', async () => {
    const fetched = await resultService({})(net.hosts[0]!.libp2p).fetch({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(42n) })
    expect(fetched.entries).toEqual(result.entries)
    expect(fetched.files.map((file) => file.name)).toEqual(['exit', 'stdout', 'stderr', 'outputs/big.bin'])
    expect(new TextDecoder().decode(fetched.files[1]!.content)).toBe('hello\n')
    expect(Buffer.compare(fetched.files[3]!.content, result.files[3]!.content)).toBe(0)
    expect(() => checkResultFiles(fetched)).not.toThrow()
  })

  it('answers NOT_FOUND for an unknown job', async () => {
    const error = await resultService({})(net.hosts[0]!.libp2p).fetch({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(43n) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(P2pError)
    expect((error as P2pError).code).toBe('NOT_FOUND')
  })

  it('refuses a result over the size cap', async () => {
    const error = await resultService({ maxResultBytes: 100_000 })(net.hosts[0]!.libp2p).fetch({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(42n) }).catch((e: unknown) => e)
    expect((error as P2pError).code).toBe('TOO_LARGE')
  })

  it('checkResultFiles flags a tampered file as a reason to penalise the worker', () => {
    const tampered = { ...result, files: result.files.map((file) => (file.name === 'stdout' ? { name: 'stdout', content: text('hellO\n') } : file)) }
    expect(() => checkResultFiles(tampered)).toThrow(expect.objectContaining({ code: 'HASH_MISMATCH', penalize: true }))
    const missing = { ...result, files: result.files.filter((file) => file.name !== 'outputs/big.bin') }
    expect(() => checkResultFiles(missing)).toThrow(expect.objectContaining({ code: 'HASH_MISMATCH' }))
    expect(() => checkResultFiles({ ...missing, optional: (name) => name.startsWith('outputs/') })).not.toThrow()
  })
})
