// The wire format of every Sandrun stream protocol: frames of `u8 kind || u32be length || payload`,
// kind 0 = a JSON object (headers, requests, status), kind 1 = raw bytes (bundle, file and log data).
// Reads are bounded per frame and apply backpressure: when the local buffer fills, the stream is
// paused, so yamux stops granting window and a fast sender waits instead of filling our memory.
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { decodeJsonObject } from './decodeJsonObject.ts'
import { P2pError } from './errors.ts'

export const frameKind = { json: 0, bytes: 1 } as const

const headerLength = 5

export type Frame = { kind: 'json'; value: Record<string, unknown> } | { kind: 'bytes'; data: Uint8Array }

export type ReadFrameOptions = {
  /** Largest payload accepted in this frame; a bigger one is a PROTOCOL_VIOLATION (never buffered). */
  maxLength: number
  signal: AbortSignal
}

export type FramedStreamOptions = {
  /** Bytes buffered here before the stream is paused (the peer then waits for window). */
  highWaterMark?: number
}

export class FramedStream {
  readonly stream: Stream
  private readonly highWaterMark: number
  private chunks: Uint8Array[] = []
  private buffered = 0
  private ended = false
  private failure: Error | undefined
  private wake: (() => void) | undefined

  constructor(stream: Stream, { highWaterMark = 1024 * 1024 }: FramedStreamOptions = {}) {
    this.stream = stream
    this.highWaterMark = highWaterMark
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('close', this.onClose)
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
    if (stream.readableEnded || stream.remoteWriteStatus === 'closed') this.ended = true
  }

  private readonly onMessage = (event: StreamMessageEvent): void => {
    const data = event.data instanceof Uint8Array ? event.data : event.data.subarray()
    if (data.byteLength === 0) return
    this.chunks.push(data)
    this.buffered += data.byteLength
    if (this.buffered >= this.highWaterMark && this.stream.readStatus === 'readable') this.stream.pause()
    this.notify()
  }

  private readonly onClose = (event: StreamCloseEvent): void => {
    if (event.error) this.failure = event.error
    this.ended = true
    this.notify()
  }

  private readonly onRemoteCloseWrite = (): void => {
    this.ended = true
    this.notify()
  }

  private notify(): void {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Waits until `length` bytes are buffered; false when the stream ended first. */
  private async fill(length: number, signal: AbortSignal): Promise<boolean> {
    while (this.buffered < length) {
      if (this.failure) throw this.failure
      if (this.ended) return false
      signal.throwIfAborted()
      await new Promise<void>((resolve) => {
        const onAbort = (): void => resolve()
        signal.addEventListener('abort', onAbort, { once: true })
        this.wake = () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      })
      signal.throwIfAborted()
    }
    return true
  }

  private take(length: number): Uint8Array {
    const out = new Uint8Array(length)
    let offset = 0
    while (offset < length) {
      const head = this.chunks[0]!
      const needed = length - offset
      if (head.byteLength <= needed) {
        out.set(head, offset)
        offset += head.byteLength
        this.chunks.shift()
      } else {
        out.set(head.subarray(0, needed), offset)
        this.chunks[0] = head.subarray(needed)
        offset += needed
      }
    }
    this.buffered -= length
    if (this.buffered < this.highWaterMark / 2 && this.stream.readStatus === 'paused') this.stream.resume()
    return out
  }

  private peekHeader(): { kind: number; length: number } {
    const header = this.chunks[0]!.byteLength >= headerLength ? this.chunks[0]!.subarray(0, headerLength) : this.concatHead()
    const view = new DataView(header.buffer, header.byteOffset, headerLength)
    return { kind: view.getUint8(0), length: view.getUint32(1) }
  }

  private concatHead(): Uint8Array {
    const joined = this.take(headerLength)
    this.chunks.unshift(joined)
    this.buffered += headerLength
    return joined
  }

  /** The next frame, or undefined when the peer closed its side cleanly between frames. */
  async readFrame({ maxLength, signal }: ReadFrameOptions): Promise<Frame | undefined> {
    if (!(await this.fill(headerLength, signal))) {
      if (this.buffered === 0) return undefined
      throw new P2pError('PROTOCOL_VIOLATION', 'The peer closed the stream in the middle of a frame header.')
    }
    const { kind, length } = this.peekHeader()
    if (kind !== frameKind.json && kind !== frameKind.bytes) {
      throw new P2pError('PROTOCOL_VIOLATION', `The peer sent a frame of unknown kind ${kind}.`)
    }
    if (length > maxLength) {
      throw new P2pError('PROTOCOL_VIOLATION', `The peer sent a ${length}-byte frame where at most ${maxLength} bytes are allowed.`)
    }
    this.take(headerLength)
    if (!(await this.fill(length, signal))) {
      throw new P2pError('PROTOCOL_VIOLATION', `The peer closed the stream in the middle of a ${length}-byte frame.`)
    }
    const payload = this.take(length)
    if (kind === frameKind.bytes) return { kind: 'bytes', data: payload }
    const value = decodeJsonObject(payload)
    if (typeof value === 'string') throw new P2pError('PROTOCOL_VIOLATION', `The peer sent a JSON frame that is ${value}.`)
    return { kind: 'json', value }
  }

  /** The next frame, which must be a JSON object (`what` names it in the error). */
  async readJson(what: string, options: ReadFrameOptions): Promise<Record<string, unknown>> {
    const frame = await this.readFrame(options)
    if (frame === undefined) throw new P2pError('PROTOCOL_VIOLATION', `The peer closed the stream before sending ${what}.`)
    if (frame.kind !== 'json') throw new P2pError('PROTOCOL_VIOLATION', `The peer sent bytes where ${what} was expected.`)
    return frame.value
  }

  async writeJson(value: Record<string, unknown>, signal: AbortSignal): Promise<void> {
    await this.write(frameKind.json, new TextEncoder().encode(JSON.stringify(value)), signal)
  }

  async writeBytes(data: Uint8Array, signal: AbortSignal): Promise<void> {
    await this.write(frameKind.bytes, data, signal)
  }

  private async write(kind: number, payload: Uint8Array, signal: AbortSignal): Promise<void> {
    signal.throwIfAborted()
    const header = new Uint8Array(headerLength)
    const view = new DataView(header.buffer)
    view.setUint8(0, kind)
    view.setUint32(1, payload.byteLength)
    this.stream.send(header)
    // Waiting for drain after every frame keeps at most one frame queued per stream.
    if (!this.stream.send(payload)) await this.stream.onDrain({ signal })
  }

  /** Closes our writing side after everything queued was handed to the transport. */
  async close(signal: AbortSignal): Promise<void> {
    await this.stream.close({ signal })
  }

  abort(error: Error): void {
    this.stream.abort(error)
  }

  dispose(): void {
    this.stream.removeEventListener('message', this.onMessage)
    this.stream.removeEventListener('close', this.onClose)
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
  }
}
