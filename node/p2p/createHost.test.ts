import { mkdtemp, readFile, rm } from 'node:fs/promises'
import net from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isPrivateIp } from './connectionGater.ts'
import { createHost, type SandrunHost } from './createHost.ts'
import { startTestHosts } from './startTestHosts.ts'

/** Resolves once `host` holds an open connection from or to `peerId`. */
function connectionFrom(host: SandrunHost, peerId: string): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!host.libp2p.getConnections().some((c) => c.remotePeer.toString() === peerId && c.status === 'open')) return
      host.libp2p.removeEventListener('connection:open', check)
      resolve()
    }
    host.libp2p.addEventListener('connection:open', check)
    check()
  })
}

describe('createHost', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sandrun-p2p-'))
  })
  afterAll(async () => rm(dir, { recursive: true, force: true }))

  it('creates the node key in the data dir and keeps the same peer id across restarts', async () => {
    const first = await createHost({ dataDir: dir })
    await first.stop()
    const file = JSON.parse(await readFile(path.join(dir, 'worker-key.json'), 'utf8')) as { worker_id: string }
    const second = await createHost({ dataDir: dir })
    await second.stop()
    expect(second.peerId).toBe(first.peerId)
    // The libp2p identity is the worker key: the peer id embeds the same Ed25519 public key.
    expect(first.workerKey.workerId).toBe(file.worker_id)
    expect(Buffer.from(first.libp2p.peerId.publicKey!.raw).toString('base64')).toBe(file.worker_id)
  })

  it('connects two and three nodes over TCP on loopback and pings', async () => {
    const net = await startTestHosts({ count: 3 })
    try {
      for (const host of net.hosts) expect(host.libp2p.getPeers()).toHaveLength(2)
      const rtt = await net.hosts[0]!.libp2p.services.ping.ping(net.hosts[2]!.libp2p.peerId)
      expect(rtt).toBeGreaterThanOrEqual(0)
      expect(net.hosts[0]!.multiaddrs()[0]).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${net.hosts[0]!.peerId}$`))
    } finally {
      await net.stop()
    }
  })

  it('refuses denied peers, and closes their connections when they are denied later', async () => {
    const net = await startTestHosts({ count: 2, links: [] })
    const [a, b] = net.hosts as [NonNullable<(typeof net.hosts)[0]>, NonNullable<(typeof net.hosts)[0]>]
    try {
      await a.dial(b.multiaddrs()[0]!)
      await a.denyPeer(b.peerId)
      expect(a.libp2p.getConnections(b.libp2p.peerId)).toHaveLength(0)
      await expect(a.dial(b.multiaddrs()[0]!)).rejects.toMatchObject({ code: 'STREAM_FAILED' })
      const picky = await createHost({ deniedPeers: [a.peerId] })
      try {
        // The dialer may finish its side of the handshake before the refusal arrives; the refusing side never admits it.
        await a.dial(picky.multiaddrs()[0]!).catch(() => undefined)
        expect(picky.libp2p.getConnections(a.libp2p.peerId)).toHaveLength(0)
      } finally {
        await picky.stop()
      }
    } finally {
      await net.stop()
    }
  })

  it('on a public network, refuses to dial private addresses', async () => {
    const target = await createHost()
    const careful = await createHost({ refusePrivateAddresses: true })
    try {
      await expect(careful.dial(target.multiaddrs()[0]!)).rejects.toMatchObject({ code: 'STREAM_FAILED' })
      expect(careful.libp2p.getConnections()).toHaveLength(0)
    } finally {
      await Promise.all([target.stop(), careful.stop()])
    }
    expect([isPrivateIp('10.1.2.3'), isPrivateIp('192.168.0.1'), isPrivateIp('::1'), isPrivateIp('fe80::1'), isPrivateIp('8.8.8.8'), isPrivateIp('2001:4860::8888')]).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
    ])
  })

  it('re-dials a bootstrap peer that restarts on the same port (a gateway upgrade)', { timeout: 15_000 }, async () => {
    const gatewayDir = path.join(dir, 'restarting-gateway')
    const gateway = await createHost({ dataDir: gatewayDir })
    const address = gateway.multiaddrs()[0]!
    const worker = await createHost({ bootstrap: [address] })
    try {
      await connectionFrom(gateway, worker.peerId)
      await gateway.stop()
      // Same key, same port: the address the worker was given is good again.
      const restarted = await createHost({ dataDir: gatewayDir, listen: [address.replace(/\/p2p\/.*$/, '')] })
      try {
        await connectionFrom(restarted, worker.peerId)
        expect(worker.libp2p.getConnections(restarted.libp2p.peerId).some((c) => c.status === 'open')).toBe(true)
      } finally {
        await restarted.stop()
      }
    } finally {
      await worker.stop()
    }
  })

  it('keeps dialling a bootstrap peer that was not up when it started (a dev network starting all at once)', { timeout: 20_000 }, async () => {
    const gatewayDir = path.join(dir, 'late-gateway')
    const first = await createHost({ dataDir: gatewayDir })
    const address = first.multiaddrs()[0]!
    await first.stop()
    const port = Number(address.split('/tcp/')[1]!.split('/')[0])
    // Until the gateway is up, something on its port that hangs up at once: it counts the dials.
    let dials = 0
    const notYet = net.createServer((socket) => {
      dials++
      socket.destroy()
    })
    await new Promise<void>((resolve) => notYet.listen(port, '127.0.0.1', resolve))
    const worker = await createHost({ bootstrap: [address], bootstrapRedialMs: 500 })
    try {
      // libp2p dials a bootstrap peer at start and gives up; a third dial is the worker trying again.
      await expect.poll(() => dials, { timeout: 10_000 }).toBeGreaterThanOrEqual(3)
      await new Promise<void>((resolve) => notYet.close(() => resolve()))
      const late = await createHost({ dataDir: gatewayDir, listen: [address.replace(/\/p2p\/.*$/, '')] })
      try {
        await connectionFrom(late, worker.peerId)
      } finally {
        await late.stop()
      }
    } finally {
      notYet.close()
      await worker.stop()
    }
  })

  it('runs the DHT and mDNS only when asked for them (they are loaded on demand)', { timeout: 15_000 }, async () => {
    const plain = await createHost()
    const withDht = await createHost({ dht: 'server', mdns: true, bootstrap: plain.multiaddrs() })
    try {
      expect(plain.libp2p.services.dht).toBeUndefined()
      expect(withDht.libp2p.services.dht).toBeDefined()
      await connectionFrom(withDht, plain.peerId)
      // The DHT answers a lookup of the peer it is connected to.
      const found = await withDht.libp2p.peerRouting.findPeer(plain.libp2p.peerId, { signal: AbortSignal.timeout(5000) })
      expect(found.id.toString()).toBe(plain.peerId)
    } finally {
      await withDht.stop()
      await plain.stop()
    }
  })

  it('refuses a bootstrap address without a peer id, saying what a full address looks like', async () => {
    await expect(createHost({ bootstrap: ['/ip4/127.0.0.1/tcp/4001'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/\/p2p\//) })
  })

  it('rejects a malformed denied peer id with a message that says what is expected', async () => {
    await expect(createHost({ deniedPeers: ['not-a-peer'] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
