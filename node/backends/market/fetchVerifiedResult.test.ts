import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { resultRoot, chainJobId } from '../../../verifier/index.ts'
import { P2pError, type JobResultPayload } from '../../p2p/index.ts'
import { fetchVerifiedResult, ResultUnavailableError } from './fetchVerifiedResult.ts'

const file = (name: string, text: string) => {
  const content = Buffer.from(text)
  return { entry: { name, sha256: `0x${createHash('sha256').update(content).digest('hex')}`, size: content.length }, file: { name, content } }
}

function result(stdout: string): JobResultPayload {
  const parts = [file('exit', '0:exited'), file('stdout', stdout), file('stderr', '')]
  return { entries: parts.map((p) => p.entry), files: parts.map((p) => p.file) }
}

const honest = result('42\n')
const root = resultRoot(honest.entries)

function serving(byPeer: Record<string, JobResultPayload | Error>) {
  return {
    fetch: async ({ peer }: { peer: unknown }) => {
      const answer = byPeer[String(peer)]
      if (!answer || answer instanceof Error) throw answer ?? new P2pError('NOT_FOUND', 'no result here')
      return answer
    },
  }
}

describe('fetchVerifiedResult', () => {
  it('skips a worker whose file does not match its entry and takes the next agreeing one', async () => {
    const tampered = { entries: honest.entries, files: honest.files.map((f) => (f.name === 'stdout' ? { name: 'stdout', content: Buffer.from('41\n') } : f)) }
    const rejected: Array<[string, boolean]> = []
    const { payload, address } = await fetchVerifiedResult({
      results: serving({ liar: tampered, good: honest }),
      chainJobId: chainJobId(7n),
      root,
      candidates: [{ address: '0xliar', peer: 'liar' }, { address: '0xgood', peer: 'good' }],
      onRejected: (candidate, _reason, lied) => rejected.push([candidate.address, lied]),
    })
    expect(address).toBe('0xgood')
    expect(Buffer.from(payload.files.find((f) => f.name === 'stdout')!.content).toString()).toBe('42\n')
    expect(rejected).toEqual([['0xliar', true]])
  })

  it('refuses a self-consistent result whose root is not the on-chain root', async () => {
    const other = result('43\n')
    await expect(
      fetchVerifiedResult({ results: serving({ a: other }), chainJobId: chainJobId(7n), root, candidates: [{ address: '0xa', peer: 'a' }] }),
    ).rejects.toBeInstanceOf(ResultUnavailableError)
  })

  it('moves past an unreachable worker without calling it a liar', async () => {
    const rejected: boolean[] = []
    const { address } = await fetchVerifiedResult({
      results: serving({ down: new P2pError('STREAM_FAILED', 'connection refused'), up: honest }),
      chainJobId: chainJobId(7n),
      root,
      candidates: [{ address: '0xdown', peer: 'down' }, { address: '0xup', peer: 'up' }],
      onRejected: (_c, _r, lied) => rejected.push(lied),
    })
    expect(address).toBe('0xup')
    expect(rejected).toEqual([false])
  })
})
