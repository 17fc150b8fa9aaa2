import { describe, expect, it } from 'vitest'
import { JobLog, type LogEntry } from './jobLog.ts'

const show = (e: LogEntry): string => (e.type === 'output' ? `${e.stream}:${e.data}` : e.type === 'truncated' ? `truncated:${e.stream}:${e.capBytes}` : `gap:${e.droppedBytes}`)
const outputOf = (entries: LogEntry[], stream: string): Buffer => Buffer.concat(entries.flatMap((e) => (e.type === 'output' && e.stream === stream ? [e.data] : [])))

describe('JobLog', () => {
  it('keeps output up to its cap, in order, and marks the rest truncated', () => {
    const log = new JobLog({ captureBytes: 10 })
    const seen: string[] = []
    log.subscribe((entry) => seen.push(show(entry)))
    log.append('stdout', Buffer.from('abc'))
    log.append('stderr', Buffer.from('E'))
    log.append('stdout', Buffer.from('defghijkl'))
    log.append('stdout', Buffer.from('more'))
    expect(seen).toEqual(['stdout:abc', 'stderr:E', 'stdout:defghij', 'truncated:stdout:10'])
    expect(log.replay().map(show)).toEqual(['stdout:abc', 'stderr:E', 'stdout:defghij', 'truncated:stdout:10'])
    expect(log.snapshot()).toEqual({ stdout: Buffer.from('abcdefghij'), stderr: Buffer.from('E'), stdoutTruncated: true, stderrTruncated: false })
  })

  it('costs a bounded number of records for output that arrives a byte at a time', () => {
    const log = new JobLog({ captureBytes: 1024 * 1024 })
    for (let i = 0; i < 200_000; i++) log.append(i % 2 === 0 ? 'stdout' : 'stderr', Buffer.from([0x61 + (i % 26)]))
    const replay = log.replay()
    expect(replay.length).toBeLessThanOrEqual(65_536)
    // Coarser interleaving, same bytes per stream.
    expect(outputOf(replay, 'stdout').equals(log.snapshot().stdout)).toBe(true)
    expect(outputOf(replay, 'stderr').equals(log.snapshot().stderr)).toBe(true)
    expect(log.snapshot().stdout.length).toBe(100_000)
  })

  it("keeps a finished job's output in about its size, not in the reserve it grew into", () => {
    const log = new JobLog({ captureBytes: 10 * 1024 * 1024 })
    const printed = Buffer.alloc(1536 * 1024, 'x')
    for (let start = 0; start < printed.length; start += 64 * 1024) log.append('stdout', printed.subarray(start, start + 64 * 1024))
    const live = log.snapshot().stdout
    log.settle(live, Buffer.alloc(0), false, false)
    const kept = log.snapshot().stdout
    expect(kept.equals(printed)).toBe(true)
    expect(kept.buffer.byteLength).toBeLessThan(2 * printed.length)
    expect(outputOf(log.replay(), 'stdout').equals(printed)).toBe(true)
  })

  it('drops output that arrives after its data was deleted', () => {
    const log = new JobLog({ captureBytes: 100 })
    log.append('stdout', Buffer.from('before'))
    log.clear()
    expect(() => log.append('stdout', Buffer.from('late'))).not.toThrow()
    expect(log.replay()).toEqual([])
  })

  it('starts over for a retry: the viewers stay subscribed and see the new attempt, the replay holds only it', () => {
    const log = new JobLog({ captureBytes: 8 })
    const seen: string[] = []
    log.subscribe((entry) => seen.push(entry.type === 'output' ? entry.data.toString() : entry.type))
    log.append('stdout', Buffer.from('attempt 1 cut'))
    log.restart()
    log.append('stdout', Buffer.from('try 2'))
    expect(seen).toEqual(['attempt ', 'truncated', 'try 2'])
    expect(outputOf(log.replay(), 'stdout').toString()).toBe('try 2')
    expect(log.snapshot()).toMatchObject({ stdoutTruncated: false })
  })
})
