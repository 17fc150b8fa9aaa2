import { randomBytes } from 'node:crypto'
import { text } from 'node:stream/consumers'
import { describe, expect, it } from 'vitest'
import { logsJsonStream, logsTextStream } from './logsJsonStream.ts'

const expected = (fields: Record<string, string | boolean | Buffer>) =>
  JSON.stringify(Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, Buffer.isBuffer(value) ? value.toString('utf8') : value])))

describe('logsJsonStream', () => {
  it('writes exactly what JSON.stringify writes, whatever bytes the logs hold and wherever a piece ends', async () => {
    // Multi-byte characters straddling every piece boundary, control bytes, invalid UTF-8, quotes.
    const euro = Buffer.from('€😀é"\\\n\u0001')
    const mixed = Buffer.concat([Buffer.alloc(16 * 1024 - 1, 'a'), ...Array.from({ length: 4000 }, () => euro), randomBytes(70_000), Buffer.from([0xe2, 0x82]), Buffer.from([0x80, 0x80, 0x80, 0x80, 0xff])])
    for (const stdout of [Buffer.alloc(0), Buffer.from('hello\n'), mixed, mixed.subarray(1), mixed.subarray(2)]) {
      const fields = { job_id: 'job-1', status: 'running', stdout, stderr: Buffer.from([0xf0, 0x9f, 0x98]), stdout_truncated: false, stderr_truncated: true }
      expect(await text(logsJsonStream(fields))).toBe(expected(fields))
    }
  })

  it('produces no more than the reader asks for', async () => {
    const stdout = Buffer.alloc(10 * 1024 * 1024, 1)
    const stream = logsJsonStream({ stdout })
    // Nothing is read: only the first pieces (one stream buffer) are encoded, not 60 MiB of \u0001.
    await new Promise((resolve) => setImmediate(resolve))
    expect(stream.readableLength).toBeLessThan(512 * 1024)
    stream.destroy()
  })

  it('lets the event loop turn while a reader takes megabytes at once, in JSON and as text', async () => {
    const stdout = Buffer.alloc(4 * 1024 * 1024, 'x')
    const stderr = Buffer.alloc(4 * 1024 * 1024, 1)
    for (const make of [() => logsJsonStream({ stdout, stderr }), () => logsTextStream([stdout, stderr])]) {
      // Another client's work, waiting for its turn: counted while the reader reads as fast as it can.
      let turns = 0
      let ticking = true
      const tick = () => {
        turns++
        if (ticking) setImmediate(tick)
      }
      setImmediate(tick)
      let length = 0
      for await (const chunk of make()) length += (chunk as Buffer).length
      ticking = false
      expect(length).toBeGreaterThanOrEqual(8 * 1024 * 1024)
      // One turn per 256 KiB at least: 8 MiB of text, 28 MiB of JSON.
      expect(turns).toBeGreaterThanOrEqual(30)
    }
    expect(await text(logsTextStream([Buffer.from('out'), Buffer.alloc(0), Buffer.from('err')]))).toBe('outerr')
  })
})
