// `/sandrun/bundle/1.0.0`: fetch a job bundle by its sha256 from a provider (gateway or worker).
// The answer declares the size first, so an oversize bundle is refused before any byte of it is
// read; the receiver hashes while reading and never returns bytes that do not match the hash.
import { createHash } from 'node:crypto'
import type { PeerId } from '@libp2p/interface'
import type { PeerTarget } from './dialTarget.ts'
import { P2pError } from './errors.ts'
import { operationSignal, toP2pError } from './operationSignal.ts'
import { bundleProtocol } from './protocols.ts'
import { openRequest, protocolHandler, readAnswer, readRequest, RemoteRefusal, sha256Pattern, type P2pNode } from './protocolStreams.ts'

export type BundleServiceInit = {
  /**
   * Serves a bundle by sha256 (0x + 64 lowercase hex); undefined = not here. Omit on fetch-only nodes.
   * `from` is the asking peer (a market gateway learns from it which worker is starting a job).
   */
  getBundle?: (sha256: string, from: PeerId) => Uint8Array | undefined | Promise<Uint8Array | undefined>
  maxBundleBytes?: number
  fetchTimeoutMs?: number
  serveTimeoutMs?: number
  maxInboundStreams?: number
}

export const defaultBundleOptions = {
  // The gateway's upload cap for a job bundle.
  maxBundleBytes: 100 * 1024 * 1024,
  // 100 MiB over a slow (~1 MiB/s) uplink, with slack.
  fetchTimeoutMs: 180_000,
  serveTimeoutMs: 180_000,
  // A worker fetches a bundle once per job; a handful in parallel per connection is plenty.
  maxInboundStreams: 4,
  // Frame size for bundle bytes: big enough for throughput, small enough to bound each read.
  chunkBytes: 256 * 1024,
} as const

export type FetchBundleParameters = {
  peer: PeerTarget
  /** 0x + 64 hex digits (case-insensitive). */
  sha256: string
  /** The size the announcement declared; a provider offering another size is refused (penalised). */
  expectedSize?: number
  onProgress?: (progress: { receivedBytes: number; totalBytes: number }) => void
  signal?: AbortSignal
  timeoutMs?: number
}

export type FetchBundleReturnType = { data: Uint8Array; size: number }

export type BundleService = {
  readonly protocol: string
  start(): Promise<void>
  stop(): Promise<void>
  /** Fetches and verifies a bundle; a HASH_MISMATCH or PROTOCOL_VIOLATION error has `penalize: true`. */
  fetch(parameters: FetchBundleParameters): Promise<FetchBundleReturnType>
}

export function bundleService(init: BundleServiceInit) {
  return (node: P2pNode): BundleService => createBundleService(node, init)
}

function createBundleService(node: P2pNode, init: BundleServiceInit): BundleService {
  const maxBundleBytes = init.maxBundleBytes ?? defaultBundleOptions.maxBundleBytes
  const fetchTimeoutMs = init.fetchTimeoutMs ?? defaultBundleOptions.fetchTimeoutMs
  const serveTimeoutMs = init.serveTimeoutMs ?? defaultBundleOptions.serveTimeoutMs
  const { chunkBytes } = defaultBundleOptions
  const getBundle = init.getBundle

  const handler = protocolHandler(async (framed, connection, signal) => {
    const request = await readRequest(framed, signal)
    const sha256 = typeof request.sha256 === 'string' ? request.sha256 : ''
    if (!sha256Pattern.test(sha256)) throw new RemoteRefusal('BAD_REQUEST', 'sha256 must be 0x + 64 lowercase hex digits')
    const bundle = await getBundle?.(sha256, connection.remotePeer)
    if (bundle === undefined) throw new RemoteRefusal('NOT_FOUND', 'no bundle with this sha256 here')
    await framed.writeJson({ ok: true, size: bundle.byteLength }, signal)
    for (let offset = 0; offset < bundle.byteLength; offset += chunkBytes) {
      await framed.writeBytes(bundle.subarray(offset, offset + chunkBytes), signal)
    }
  }, serveTimeoutMs)

  return {
    protocol: bundleProtocol,
    async start() {
      if (getBundle === undefined) return
      await node.handle(bundleProtocol, handler, { maxInboundStreams: init.maxInboundStreams ?? defaultBundleOptions.maxInboundStreams })
    },
    async stop() {
      if (getBundle !== undefined) await node.unhandle(bundleProtocol)
    },
    async fetch({ peer, sha256: wanted, expectedSize, onProgress, signal, timeoutMs = fetchTimeoutMs }) {
      const sha256 = wanted.toLowerCase()
      if (!sha256Pattern.test(sha256)) {
        throw new P2pError('INVALID_ARGUMENT', `Bundle hash "${wanted}" is not 0x + 64 hex digits.`)
      }
      const op = operationSignal({ signal, timeoutMs })
      const what = `bundle ${sha256}`
      let framed: Awaited<ReturnType<typeof openRequest>> | undefined
      try {
        framed = await openRequest(node, peer, bundleProtocol, { v: 1, sha256 }, op.signal)
        const answer = await readAnswer(framed, what, 1024, op.signal)
        const size = answer.size
        if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
          throw new P2pError('PROTOCOL_VIOLATION', `The peer declared an invalid size for ${what}.`)
        }
        if (expectedSize !== undefined && size !== expectedSize) {
          throw new P2pError('PROTOCOL_VIOLATION', `The peer offers ${size} bytes for ${what}, but it was announced with ${expectedSize}.`)
        }
        if (size > maxBundleBytes) {
          throw new P2pError('TOO_LARGE', `The peer offers ${size} bytes for ${what}, above this node's cap of ${maxBundleBytes}; raise maxBundleBytes to accept it.`)
        }
        const data = new Uint8Array(size)
        const hash = createHash('sha256')
        let received = 0
        while (received < size) {
          const frame = await framed.readFrame({ maxLength: Math.min(size - received, 4 * chunkBytes), signal: op.signal })
          if (frame === undefined) throw new P2pError('PROTOCOL_VIOLATION', `The peer ended ${what} after ${received} of ${size} bytes.`)
          if (frame.kind !== 'bytes') throw new P2pError('PROTOCOL_VIOLATION', `The peer sent JSON in the middle of ${what}.`)
          data.set(frame.data, received)
          hash.update(frame.data)
          received += frame.data.byteLength
          onProgress?.({ receivedBytes: received, totalBytes: size })
        }
        const actual = `0x${hash.digest('hex')}`
        if (actual !== sha256) {
          throw new P2pError('HASH_MISMATCH', `The peer served bytes hashing to ${actual} for ${what}; drop this provider and fetch from another.`)
        }
        await framed.close(op.signal).catch(() => undefined)
        return { data, size }
      } catch (error) {
        const failure = toP2pError(error, `Fetching ${what}`, op)
        framed?.abort(failure)
        throw failure
      } finally {
        framed?.dispose()
      }
    },
  }
}
