import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bundleService } from './bundleService.ts'
import { P2pError } from './errors.ts'
import { FramedStream } from './framedStream.ts'
import { startTestHosts, type StartTestHostsReturnType } from './startTestHosts.ts'

const sha = (data: Uint8Array): string => `0x${createHash('sha256').update(data).digest('hex')}`

function bytes(size: number, seed = 1): Uint8Array {
  const data = new Uint8Array(size)
  for (let i = 0; i < size; i++) data[i] = (i * 31 + seed) & 0xff
  return data
}

async function failure(promise: Promise<unknown>): Promise<P2pError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(P2pError)
  return error as P2pError
}

describe('bundle protocol', () => {
  let net: StartTestHostsReturnType
  const bundle = bytes(3 * 1024 * 1024 + 17)
  const liar = bytes(4096, 7)
  const liarClaim = sha(bytes(4096, 8))

  beforeAll(async () => {
    net = await startTestHosts({ count: 3 })
    const [, provider, rogue] = net.hosts
    const store = new Map([[sha(bundle), bundle]])
    await bundleService({ getBundle: (hash) => store.get(hash) })(provider!.libp2p).start()
    // The rogue serves the wrong bytes for a hash, declares a huge size, or never answers.
    await bundleService({ getBundle: (hash) => (hash === liarClaim ? liar : undefined) })(rogue!.libp2p).start()
  })
  afterAll(async () => net?.stop())

  it('fetches a bundle by its sha256, verified, with progress', async () => {
    const [client, provider] = net.hosts
    const service = bundleService({})(client!.libp2p)
    const progress: number[] = []
    const { data, size } = await service.fetch({
      peer: provider!.multiaddrs()[0]!,
      sha256: sha(bundle).toUpperCase().replace('0X', '0x'),
      expectedSize: bundle.byteLength,
      onProgress: ({ receivedBytes }) => progress.push(receivedBytes),
    })
    expect(size).toBe(bundle.byteLength)
    expect(sha(data)).toBe(sha(bundle))
    expect(progress.at(-1)).toBe(bundle.byteLength)
    expect(progress.length).toBeGreaterThan(1)
  })

  it('answers NOT_FOUND for an unknown bundle, without blaming the provider', async () => {
    const [client, provider] = net.hosts
    const error = await failure(bundleService({})(client!.libp2p).fetch({ peer: provider!.libp2p.peerId, sha256: sha(bytes(10)) }))
    expect(error.code).toBe('NOT_FOUND')
    expect(error.penalize).toBe(false)
  })

  it('refuses bytes that do not match the hash and says to penalise the provider', async () => {
    const [client, , rogue] = net.hosts
    const error = await failure(bundleService({})(client!.libp2p).fetch({ peer: rogue!.libp2p.peerId, sha256: liarClaim }))
    expect(error.code).toBe('HASH_MISMATCH')
    expect(error.penalize).toBe(true)
  })

  it('refuses a bundle over the cap before reading it', async () => {
    const [client, provider] = net.hosts
    const small = bundleService({ maxBundleBytes: 1024 * 1024 })(client!.libp2p)
    const received: number[] = []
    const error = await failure(small.fetch({ peer: provider!.libp2p.peerId, sha256: sha(bundle), onProgress: ({ receivedBytes }) => received.push(receivedBytes) }))
    expect(error.code).toBe('TOO_LARGE')
    expect(error.penalize).toBe(false)
    expect(received).toEqual([])
  })

  it('refuses a provider that sends more than it declared', async () => {
    const [client, , rogue] = net.hosts
    const protocol = '/sandrun/bundle/1.0.0'
    await rogue!.libp2p.unhandle(protocol)
    await rogue!.libp2p.handle(protocol, async (stream) => {
      const framed = new FramedStream(stream)
      const signal = AbortSignal.timeout(5000)
      await framed.readJson('request', { maxLength: 4096, signal })
      await framed.writeJson({ ok: true, size: 10 }, signal)
      await framed.writeBytes(bytes(64 * 1024), signal).catch(() => undefined)
    })
    try {
      const error = await failure(bundleService({})(client!.libp2p).fetch({ peer: rogue!.libp2p.peerId, sha256: sha(bytes(10)) }))
      expect(error.code).toBe('PROTOCOL_VIOLATION')
      expect(error.penalize).toBe(true)
    } finally {
      await rogue!.libp2p.unhandle(protocol)
    }
  })

  it('times out when the provider never answers', async () => {
    const [client, , rogue] = net.hosts
    const protocol = '/sandrun/bundle/1.0.0'
    await rogue!.libp2p.handle(protocol, () => undefined, { force: true })
    try {
      const error = await failure(bundleService({ fetchTimeoutMs: 300 })(client!.libp2p).fetch({ peer: rogue!.libp2p.peerId, sha256: sha(bundle) }))
      expect(error.code).toBe('TIMEOUT')
      expect(error.penalize).toBe(false)
    } finally {
      await rogue!.libp2p.unhandle(protocol)
    }
  })
})
