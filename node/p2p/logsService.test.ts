import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { LogFeed, type LogEvent } from './logFeed.ts'
import { logsService } from './logsService.ts'
import { startTestHosts, type StartTestHostsReturnType } from './startTestHosts.ts'
import { chainJobId } from '../../verifier/index.ts'

const text = (value: string): Uint8Array => new TextEncoder().encode(value)
const decode = (data: Uint8Array): string => new TextDecoder().decode(data)

async function collect(events: AsyncIterable<LogEvent>): Promise<LogEvent[]> {
  const all: LogEvent[] = []
  for await (const event of events) all.push(event)
  return all
}

describe('logs protocol', () => {
  let net: StartTestHostsReturnType
  const feeds = new Map<bigint, LogFeed>()

  beforeAll(async () => {
    net = await startTestHosts({ count: 2 })
    await logsService({ openLogs: (jobId, signal) => feeds.get(jobId)?.subscribe(signal) })(net.hosts[1]!.libp2p).start()
  })
  afterAll(async () => net?.stop())

  it('replays what exists, streams new chunks live, then the final status', async () => {
    const feed = new LogFeed()
    feeds.set(7n, feed)
    feed.append('stdout', text('before 1\n'))
    feed.append('stderr', text('warn\n'))
    const follow = logsService({})(net.hosts[0]!.libp2p).follow({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(7n) })
    const first = await follow.next()
    expect(first.value).toEqual({ type: 'chunk', stream: 'stdout', data: text('before 1\n') })
    expect((await follow.next()).value).toEqual({ type: 'chunk', stream: 'stderr', data: text('warn\n') })
    // Appended only after the reader has caught up: this chunk can only arrive live.
    feed.append('stdout', text('live\n'))
    expect((await follow.next()).value).toEqual({ type: 'chunk', stream: 'stdout', data: text('live\n') })
    feed.end({ state: 'completed', exit_code: 0 })
    expect((await follow.next()).value).toEqual({ type: 'end', status: { state: 'completed', exit_code: 0 } })
    expect((await follow.next()).done).toBe(true)
  })

  it('serves a finished job as replay + end', async () => {
    const feed = new LogFeed()
    feeds.set(8n, feed)
    feed.append('stdout', text('all done\n'))
    feed.end({ state: 'failed', exit_code: 1 })
    const events = await collect(logsService({})(net.hosts[0]!.libp2p).follow({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(8n) }))
    expect(events.map((event) => event.type)).toEqual(['chunk', 'end'])
  })

  it('does not block the job for a slow reader: it drops the oldest chunks and reports the gap', async () => {
    const feed = new LogFeed({ maxLagBytes: 128 * 1024 })
    feeds.set(9n, feed)
    const client = logsService({})(net.hosts[0]!.libp2p)
    const slow = client.follow({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(9n) })
    const fast = client.follow({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(9n) })
    feed.append('stdout', text('start\n'))
    // Both readers are attached once they saw the first chunk.
    expect((await slow.next()).value).toMatchObject({ type: 'chunk' })
    const fastEvents = [(await fast.next()).value as LogEvent]
    const fastDone = collect({ [Symbol.asyncIterator]: () => fast }).then((rest) => fastEvents.concat(rest))

    // 16 MiB appended while the slow reader reads nothing: append must return every time.
    const chunk = new Uint8Array(64 * 1024).fill(0x61)
    const total = 256 * chunk.byteLength
    for (let i = 0; i < 256; i++) feed.append('stdout', chunk)
    feed.end({ state: 'completed' })

    const slowEvents = await collect({ [Symbol.asyncIterator]: () => slow })
    const bytes = (events: LogEvent[]): number => events.reduce((sum, e) => sum + (e.type === 'chunk' ? e.data.byteLength : 0), 0)
    const gaps = slowEvents.reduce((sum, e) => sum + (e.type === 'gap' ? e.droppedBytes : 0), 0)
    expect(gaps).toBeGreaterThan(0)
    expect(bytes(slowEvents) + gaps).toBe(total)
    expect(slowEvents.at(-1)).toEqual({ type: 'end', status: { state: 'completed' } })

    const all = await fastDone
    expect(all.at(-1)?.type).toBe('end')
    expect(bytes(all) + all.reduce((sum, e) => sum + (e.type === 'gap' ? e.droppedBytes : 0), 0)).toBe(total + 6)
  })

  it('reports an unknown job as NOT_FOUND', async () => {
    const follow = logsService({})(net.hosts[0]!.libp2p).follow({ peer: net.hosts[1]!.libp2p.peerId, jobId: chainJobId(404n) })
    await expect(follow.next()).rejects.toMatchObject({ code: 'NOT_FOUND', penalize: false })
  })

  it('LogFeed keeps a bounded replay and says how much a late reader missed', async () => {
    const feed = new LogFeed({ maxReplayBytes: 10 })
    feed.append('stdout', text('0123456789'))
    feed.append('stdout', text('abcdef'))
    feed.end({ state: 'completed' })
    const events = await collect(feed.subscribe())
    expect(events[0]).toEqual({ type: 'gap', droppedBytes: 10 })
    expect(decode((events[1] as { data: Uint8Array }).data)).toBe('abcdef')
    expect(events[2]).toEqual({ type: 'end', status: { state: 'completed' } })
  })
})
