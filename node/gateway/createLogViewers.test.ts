// The log viewers' sender against sockets that take everything at once (as a socket with room in
// the kernel's buffer does): many viewers replaying a long log get every byte, encoded once for
// all of them, and the event loop gets turns while they are fed.
import { EventEmitter } from 'node:events'
import { describe, expect, it } from 'vitest'
import type { WebSocket } from 'ws'
import { createLogViewers } from './createLogViewers.ts'

type FakeSocket = { socket: WebSocket; messages: Buffer[]; done: Promise<void> }

/** A socket whose sends complete at once (callback on the next tick), and that records them. */
function fakeSocket(): FakeSocket {
  const events = new EventEmitter()
  const messages: Buffer[] = []
  let resolveDone: () => void
  const done = new Promise<void>((resolve) => (resolveDone = resolve))
  const socket = {
    OPEN: 1,
    readyState: 1,
    send(message: Buffer, _options: unknown, callback: (error?: Error) => void) {
      messages.push(message)
      process.nextTick(callback)
    },
    close() {
      socket.readyState = 3
      resolveDone()
      process.nextTick(() => events.emit('close'))
    },
    terminate() {
      socket.close()
    },
    once(event: string, listener: () => void) {
      events.once(event, listener)
      return socket
    },
  }
  return { socket: socket as unknown as WebSocket, messages, done }
}

const decoded = (messages: Buffer[]): string =>
  messages
    .map((m) => JSON.parse(m.toString()) as { type: string; data?: string })
    .filter((m) => m.type === 'output')
    .map((m) => m.data)
    .join('')

describe('log viewers', () => {
  it('feed many viewers a long replay in turns, each piece encoded once, every byte delivered', async () => {
    const viewers = createLogViewers({ windowBytes: 256 * 1024, budgetBytes: 32 * 1024 * 1024, stallMs: 30_000 })
    // 1 MiB with multi-byte characters across the 16 KiB piece boundaries.
    const text = 'ab€ü𝄞 line of output\n'.repeat(40_000)
    const log = Buffer.from(text)
    const sockets = Array.from({ length: 150 }, fakeSocket)
    let sentWhenTheLoopTurned: number | null = null
    const sentSoFar = () => sockets.reduce((sum, s) => sum + s.messages.length, 0)
    setImmediate(() => {
      sentWhenTheLoopTurned = sentSoFar()
    })
    for (const { socket } of sockets) {
      const viewer = viewers.open(socket)
      viewer.output('stdout', log)
      viewer.end({ status: 'completed' })
    }
    await Promise.all(sockets.map((s) => s.done))
    viewers.close()

    for (const { messages } of sockets) expect(decoded(messages)).toBe(text)
    // The event loop had a turn long before the last viewer was fed (it used to get none until all
    // 150 replays were sent, seconds with a few thousand viewers).
    expect(sentWhenTheLoopTurned).not.toBe(null)
    expect(sentWhenTheLoopTurned!).toBeLessThan(sentSoFar() / 2)
    // One encoding of each piece for all viewers: the same bytes object, not a copy per viewer.
    const first = sockets[0]!.messages
    const last = sockets.at(-1)!.messages
    expect(first.length).toBe(last.length)
    for (let i = 0; i < first.length - 1; i++) expect(last[i]).toBe(first[i])
  })
})
