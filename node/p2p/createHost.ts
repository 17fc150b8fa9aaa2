// The Sandrun libp2p node: TCP + noise + yamux, identify, ping, gossipsub, and optionally kad-dht,
// bootstrap and mDNS for public networks and LANs. Its key is the worker key from the data dir, a
// gater keeps denied peers and (on public networks) private addresses out, and connection limits
// bound what strangers can open. Protocol services (bundle, result, logs, gossip) attach to it.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import type { PeerScoreParams } from '@libp2p/gossipsub/score'
import { identify, type Identify } from '@libp2p/identify'
import { KEEP_ALIVE, type Libp2p, type PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping, type Ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import type { WorkerKey } from '../../verifier/index.ts'
import { createConnectionGater } from './connectionGater.ts'
import { dialTarget, type PeerTarget } from './dialTarget.ts'
import { P2pError } from './errors.ts'
import { loadNodeKey } from './nodeKey.ts'
import { operationSignal, toP2pError } from './operationSignal.ts'

export type SandrunServices = {
  identify: Identify
  ping: Ping
  pubsub: GossipSub
  /** Present only when `dht` is 'client' or 'server'. */
  dht?: KadDHT
}

export type SandrunLibp2p = Libp2p<SandrunServices>

export type CreateHostParameters = {
  /** Data dir holding the node key (created there on first start). */
  dataDir?: string
  /** An existing key file instead of `<dataDir>/worker-key.json`. Neither: an ephemeral key. */
  keyFile?: string
  listen?: string[]
  /** Addresses to advertise instead of the listen addresses (public IP behind NAT, DNS names). */
  announce?: string[]
  /** Multiaddrs (with /p2p/<id>) dialled at start to join a public network. */
  bootstrap?: string[]
  mdns?: boolean
  dht?: 'off' | 'client' | 'server'
  deniedPeers?: string[]
  refusePrivateAddresses?: boolean
  maxConnections?: number
  maxIncomingPendingConnections?: number
  inboundConnectionsPerSecondPerHost?: number
  /** Overrides of gossipsub's peer-score parameters (e.g. IPColocationFactorWeight: 0 for many peers on one host). */
  gossipScoreParams?: Partial<PeerScoreParams>
  /** The longest wait between dials of a bootstrap peer the node is not connected to (ms; the first come after 1 s, doubling). */
  bootstrapRedialMs?: number
  /** Told of every peer connected and disconnected, from before the node listens (so none is missed). */
  onPeer?: (change: 'connected' | 'disconnected', peer: string) => void
}

export const defaultHostOptions = {
  // Loopback and an OS-chosen port: safe for tests and `npm start`; public nodes pass 0.0.0.0 and a port.
  listen: ['/ip4/127.0.0.1/tcp/0'],
  // mDNS multicasts on every interface; only wanted on a LAN, so opt-in.
  mdns: false,
  // The DHT costs several round trips per start and periodic table refreshes; tests and dev do not need it.
  dht: 'off',
  // Loopback tests and dev networks connect to 127.0.0.1; public nodes turn this on.
  refusePrivateAddresses: false,
  // Enough for a mesh of workers and gateways, small enough that one host cannot hog a node's sockets.
  maxConnections: 200,
  maxIncomingPendingConnections: 16,
  // libp2p's default rate limit of inbound connections per remote host and second.
  inboundConnectionsPerSecondPerHost: 5,
  // A bootstrap peer that is not reachable (not listening yet, restarting, down) is dialled again
  // soon and then less often: a gateway down for long is still the node's way into the network.
  bootstrapRedialMs: 30_000,
} as const

export type SandrunHost = {
  libp2p: SandrunLibp2p
  /** The peer id string (12D3KooW...), derived from the worker key. */
  peerId: string
  workerKey: WorkerKey
  /** Dialable addresses of this node, each ending in /p2p/<peerId>. */
  multiaddrs(): string[]
  dial(peer: PeerTarget, options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<void>
  /** Adds the peer to the deny-list and closes its connections (a cheating or flooding peer). */
  denyPeer(peerId: string): Promise<void>
  stop(): Promise<void>
}

const dialTimeoutMs = 10_000

export async function createHost(parameters: CreateHostParameters = {}): Promise<SandrunHost> {
  const options = { ...defaultHostOptions, ...withoutUndefined(parameters) }
  const { workerKey, privateKey } = await loadNodeKey({ keyFile: parameters.keyFile, dataDir: parameters.dataDir })
  const deniedPeers = new Set(options.deniedPeers ?? [])
  for (const peer of deniedPeers) parsePeerId(peer)

  const peerDiscovery: Array<NonNullable<Libp2pOptions['peerDiscovery']>[number]> = []
  if (options.bootstrap !== undefined && options.bootstrap.length > 0) peerDiscovery.push(bootstrap({ list: options.bootstrap }))
  // mDNS and the DHT are off unless asked for (see defaultHostOptions): loaded only then, since
  // their modules weigh ~1 MiB of heap in every gateway and worker that never uses them.
  if (options.mdns) {
    const { mdns } = await import('@libp2p/mdns')
    peerDiscovery.push(mdns() as unknown as (typeof peerDiscovery)[number])
  }

  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({
      // Announcing into an empty network is not an error: gossip is a hint, the job is on chain.
      allowPublishToZeroTopicPeers: true,
      scoreParams: options.gossipScoreParams ?? {},
      // Sandrun messages are a few KiB; a peer sending more is cut off before decoding.
      maxInboundDataLength: 64 * 1024,
    }),
  }
  if (options.dht !== 'off') {
    const { kadDHT } = await import('@libp2p/kad-dht')
    services.dht = kadDHT({ clientMode: options.dht === 'client' })
  }

  const libp2p = (await createLibp2p({
    privateKey,
    // Bootstrap peers are tagged below before start, so the start-up already dials them.
    start: false,
    addresses: { listen: [...options.listen], ...(options.announce ? { announce: options.announce } : {}) },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // A bounded per-stream window: a paused reader holds at most 2 MiB, below the read buffer cap.
    streamMuxers: [yamux({ streamOptions: { maxStreamWindowSize: 2 * 1024 * 1024, maxReadBufferLength: 8 * 1024 * 1024 } })],
    peerDiscovery,
    connectionGater: createConnectionGater({ deniedPeers, refusePrivateAddresses: options.refusePrivateAddresses }),
    connectionManager: {
      maxConnections: options.maxConnections,
      maxIncomingPendingConnections: options.maxIncomingPendingConnections,
      inboundConnectionThreshold: options.inboundConnectionsPerSecondPerHost,
    },
    services: services as never,
  })) as unknown as SandrunLibp2p

  const bootstrapPeers = await keepBootstrapPeers(libp2p, options.bootstrap ?? [])
  const { onPeer } = parameters
  if (onPeer) {
    libp2p.addEventListener('peer:connect', (event) => onPeer('connected', event.detail.toString()))
    libp2p.addEventListener('peer:disconnect', (event) => onPeer('disconnected', event.detail.toString()))
  }
  await libp2p.start()
  const bootstrapLink = keepBootstrapConnected(libp2p, bootstrapPeers, deniedPeers, options.bootstrapRedialMs)

  if (options.mdns) {
    // libp2p v3 does not dial discovered peers by itself; LAN peers found by mDNS are worth a connection.
    libp2p.addEventListener('peer:discovery', (event) => {
      if (libp2p.getConnections(event.detail.id).length > 0) return
      if (libp2p.getConnections().length >= options.maxConnections / 2) return
      libp2p.dial(event.detail.id, { signal: AbortSignal.timeout(dialTimeoutMs) }).catch(() => undefined)
    })
  }

  const peerId = libp2p.peerId.toString()
  return {
    libp2p,
    peerId,
    workerKey,
    multiaddrs: () => libp2p.getMultiaddrs().map((address) => address.toString()),
    async dial(peer, { signal, timeoutMs = dialTimeoutMs } = {}) {
      const op = operationSignal({ signal, timeoutMs })
      try {
        await libp2p.dial(dialTarget(peer), { signal: op.signal })
      } catch (error) {
        throw toP2pError(error, `Dialling ${String(peer)}`, op)
      }
    },
    async denyPeer(id) {
      deniedPeers.add(parsePeerId(id).toString())
      await libp2p.hangUp(parsePeerId(id)).catch(() => undefined)
    },
    async stop() {
      bootstrapLink.stop()
      await libp2p.stop()
    },
  }
}

/**
 * Marks the bootstrap peers keep-alive: libp2p's bootstrap discovery dials them once, and a peer
 * that restarts (a gateway upgrade) would otherwise never be dialled again. Returns their ids.
 */
async function keepBootstrapPeers(libp2p: SandrunLibp2p, addresses: readonly string[]): Promise<Set<string>> {
  const peers = new Set<string>()
  for (const address of addresses) {
    const target = multiaddr(address)
    const id = target.getComponents().findLast((component) => component.name === 'p2p')?.value
    if (id === undefined) throw new P2pError('INVALID_ARGUMENT', `bootstrap address "${address}" has no /p2p/<peer id>; use the full address a node prints (…/tcp/<port>/p2p/12D3KooW…).`)
    const peer = parsePeerId(id)
    await libp2p.peerStore.merge(peer, { multiaddrs: [target], tags: { [KEEP_ALIVE]: {} } })
    peers.add(peer.toString())
  }
  return peers
}

/**
 * Keeps the node connected to its bootstrap peers, its way into the network. libp2p dials them once
 * at start and retries a lost keep-alive peer 5 times over ~30 s; a peer that was not listening yet
 * (a dev network whose nodes start at once) or is down longer (an upgrade, a reboot) would never be
 * dialled again. Each one without an open connection is dialled here: after 1 s, then at doubling
 * intervals up to `everyMs`, and from 1 s again whenever a bootstrap peer disconnects.
 */
function keepBootstrapConnected(libp2p: SandrunLibp2p, peers: Set<string>, denied: Set<string>, everyMs: number): { stop(): void } {
  if (peers.size === 0) return { stop: () => undefined }
  const firstMs = Math.min(1000, everyMs)
  let waitMs = firstMs
  let timer: ReturnType<typeof setTimeout> | null = null
  let stopped = false
  const schedule = (): void => {
    if (stopped) return
    if (timer) clearTimeout(timer)
    timer = setTimeout(() => void check(), waitMs)
    timer.unref()
  }
  const check = async (): Promise<void> => {
    timer = null
    const missing = [...peers].filter((id) => !denied.has(id) && !libp2p.getConnections(peerIdFromString(id)).some((c) => c.status === 'open'))
    await Promise.all(
      missing.map(async (id) => {
        const peer = peerIdFromString(id)
        // A failed reconnection removes the keep-alive tag; put it back so libp2p retries later losses too.
        await libp2p.peerStore.merge(peer, { tags: { [KEEP_ALIVE]: {} } }).catch(() => undefined)
        if (libp2p.status === 'started') await libp2p.dial(peer, { signal: AbortSignal.timeout(dialTimeoutMs) }).catch(() => undefined)
      }),
    )
    waitMs = Math.min(waitMs * 2, everyMs)
    schedule()
  }
  libp2p.addEventListener('peer:disconnect', (event) => {
    if (!peers.has(event.detail.toString())) return
    waitMs = firstMs
    schedule()
  })
  schedule()
  return {
    stop() {
      stopped = true
      if (timer) clearTimeout(timer)
    },
  }
}

function parsePeerId(id: string): PeerId {
  try {
    return peerIdFromString(id)
  } catch (error) {
    throw new P2pError('INVALID_ARGUMENT', `"${id}" is not a libp2p peer id (expected e.g. 12D3KooW...).`, { cause: error })
  }
}

function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
