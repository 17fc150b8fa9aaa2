import { describe, expect, it } from 'vitest'
import { JobLog } from './jobLog.ts'

describe('JobLog', () => {
  it('keeps output up to its cap, in order, and marks the rest truncated', () => {
    const log = new JobLog({ captureBytes: 10 })
    const seen: string[] = []
    log.subscribe((chunk) => seen.push(`${chunk.stream}:${chunk.data}`))
    log.append('stdout', Buffer.from('abc'))
    log.append('stderr', Buffer.from('E'))
    log.append('stdout', Buffer.from('defghijkl'))
    expect(seen).toEqual(['stdout:abc', 'stderr:E', 'stdout:defghij'])
    expect(log.replay().map((c) => `${c.stream}:${c.data}`)).toEqual(['stdout:abc', 'stderr:E', 'stdout:defghij'])
    expect(log.snapshot()).toEqual({ stdout: Buffer.from('abcdefghij'), stderr: Buffer.from('E'), stdoutTruncated: true, stderrTruncated: false })
  })

  it('costs a bounded number of records for output that arrives a byte at a time', () => {
    const log = new JobLog({ captureBytes: 1024 * 1024 })
    for (let i = 0; i < 200_000; i++) log.append(i % 2 === 0 ? 'stdout' : 'stderr', Buffer.from([0x61 + (i % 26)]))
    const replay = log.replay()
    expect(replay.length).toBeLessThanOrEqual(65_536)
    // Coarser interleaving, same bytes per stream.
    const joined = (stream: string) => Buffer.concat(replay.filter((c) => c.stream === stream).map((c) => c.data))
    expect(joined('stdout').equals(log.snapshot().stdout)).toBe(true)
    expect(joined('stderr').equals(log.snapshot().stderr)).toBe(true)
    expect(log.snapshot().stdout.length).toBe(100_000)
  })

  it('drops output that arrives after its data was deleted', () => {
    const log = new JobLog({ captureBytes: 100 })
    log.append('stdout', Buffer.from('before'))
    log.clear()
    expect(() => log.append('stdout', Buffer.from('late'))).not.toThrow()
    expect(log.replay()).toEqual([])
  })
})
