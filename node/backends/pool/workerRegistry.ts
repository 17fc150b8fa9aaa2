// The gateway's view of its allowlisted workers: who is connected, who answers pings (health), how
// many jobs each runs (load), and which to give the next job (least loaded healthy one). Peers
// outside workers.json are hung up on as soon as their connection opens.
import type { Connection, PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { SandrunHost } from '../../p2p/createHost.ts'
import type { AllowlistedWorker } from './readWorkersFile.ts'
import { errorMessageOf } from '../../../errors/index.ts'
import type { GatewayJobId } from '../../../verifier/index.ts'

export type WorkerRegistryOptions = {
  /** How often each worker is pinged (and endpoint workers re-dialled). */
  healthIntervalMs: number
  pingTimeoutMs: number
  /** Consecutive failed pings before a connected worker counts as unhealthy. */
  maxPingFailures: number
}

export const defaultWorkerRegistryOptions: WorkerRegistryOptions = {
  // A dead worker is usually seen at once (its connection closes); pings catch the half-open ones.
  healthIntervalMs: 2000,
  pingTimeoutMs: 3000,
  // One lost ping on a busy machine is not a dead worker.
  maxPingFailures: 2,
}

export type PoolMember = AllowlistedWorker & {
  peer: PeerId
  connected: boolean
  /** Last successful ping (ms since epoch) and its round trip. */
  lastSeen: number | null
  pingMs: number | null
  pingFailures: number
  /** Why the worker is not healthy (dial or ping failure), safe to show. */
  lastError: string | null
  /** Jobs this gateway is running on it now. */
  running: Set<GatewayJobId>
  lastDispatchAt: number
  /** Not given jobs before this time (it answered BUSY). */
  pausedUntil: number
  totals: { dispatched: number; completed: number; failed: number }
}

export type WorkerRegistryComponents = {
  host: SandrunHost
  workers: AllowlistedWorker[]
  log: (message: string, context: Record<string, unknown>) => void
}

export type WorkerRegistry = {
  members(): PoolMember[]
  isHealthy(member: PoolMember): boolean
  /** The least loaded healthy worker with a free slot, not among `exclude` (worker ids). */
  pick(exclude: ReadonlySet<string>): PoolMember | undefined
  /** A dispatch to this worker failed at the network level: check its health now. */
  reportFailure(member: PoolMember, reason: string): void
  /** Called whenever a worker may have become available. */
  onChange(listener: () => void): void
  start(): void
  stop(): void
}

export function createWorkerRegistry(options: WorkerRegistryOptions, { host, workers, log }: WorkerRegistryComponents): WorkerRegistry {
  const { libp2p } = host
  const byPeer = new Map<string, PoolMember>()
  for (const worker of workers) {
    byPeer.set(worker.peerId, {
      ...worker,
      peer: peerIdFromString(worker.peerId),
      connected: false,
      lastSeen: null,
      pingMs: null,
      pingFailures: 0,
      lastError: 'not connected yet',
      running: new Set(),
      lastDispatchAt: 0,
      pausedUntil: 0,
      totals: { dispatched: 0, completed: 0, failed: 0 },
    })
  }
  const listeners: Array<() => void> = []
  const changed = (): void => {
    for (const listener of listeners) listener()
  }
  const checking = new Set<PoolMember>()
  let timer: NodeJS.Timeout | null = null
  let stopped = false

  const isHealthy = (m: PoolMember): boolean => m.connected && m.lastSeen !== null && m.pingFailures < options.maxPingFailures

  const check = async (m: PoolMember): Promise<void> => {
    if (checking.has(m) || stopped) return
    checking.add(m)
    const wasHealthy = isHealthy(m)
    try {
      m.connected = libp2p.getConnections(m.peer).length > 0
      if (!m.connected && m.endpoint === null) {
        m.lastError = 'not connected; start the worker with --bootstrap <this gateway>'
        return
      }
      // Pinging by peer id reuses the worker's connection, or dials its endpoint (pinned to its key).
      const started = Date.now()
      await libp2p.services.ping.ping(m.endpoint !== null && !m.connected ? multiaddr(m.endpoint) : m.peer, { signal: AbortSignal.timeout(options.pingTimeoutMs) })
      m.pingMs = Date.now() - started
      m.lastSeen = Date.now()
      m.pingFailures = 0
      m.lastError = null
      m.connected = libp2p.getConnections(m.peer).length > 0
    } catch (error) {
      m.pingFailures++
      m.connected = libp2p.getConnections(m.peer).length > 0
      m.lastError = `ping failed: ${errorMessageOf(error).split('\n')[0]!.slice(0, 200)}`
    } finally {
      checking.delete(m)
      const healthy = isHealthy(m)
      if (healthy !== wasHealthy) log(healthy ? 'worker healthy' : 'worker unhealthy', { workerId: m.workerId, reason: m.lastError })
      if (healthy) changed()
    }
  }

  const onOpen = (event: CustomEvent<Connection>): void => {
    const connection = event.detail
    const member = byPeer.get(connection.remotePeer.toString())
    if (!member) {
      // Not in workers.json: no exec stream is ever opened to it, and it gets no connection either.
      log('peer refused: not in workers.json', { peer: connection.remotePeer.toString() })
      connection.abort(new Error('this gateway only talks to the workers in its workers.json'))
      return
    }
    member.connected = true
    void check(member)
  }
  const onDisconnect = (event: CustomEvent<PeerId>): void => {
    const member = byPeer.get(event.detail.toString())
    if (!member) return
    member.connected = false
    member.lastError = 'connection closed'
    log('worker disconnected', { workerId: member.workerId })
  }

  return {
    members: () => [...byPeer.values()],
    isHealthy,
    pick(exclude) {
      const now = Date.now()
      const candidates = [...byPeer.values()].filter((m) => isHealthy(m) && m.running.size < m.maxConcurrentJobs && m.pausedUntil <= now && !exclude.has(m.workerId))
      candidates.sort((a, b) => a.running.size / a.maxConcurrentJobs - b.running.size / b.maxConcurrentJobs || a.running.size - b.running.size || a.lastDispatchAt - b.lastDispatchAt)
      return candidates[0]
    },
    reportFailure(member, reason) {
      member.lastError = reason.slice(0, 200)
      member.connected = libp2p.getConnections(member.peer).length > 0
      if (!member.connected) member.pingFailures = Math.max(member.pingFailures, options.maxPingFailures)
      void check(member)
    },
    onChange(listener) {
      listeners.push(listener)
    },
    start() {
      libp2p.addEventListener('connection:open', onOpen)
      libp2p.addEventListener('peer:disconnect', onDisconnect)
      for (const member of byPeer.values()) void check(member)
      timer = setInterval(() => {
        for (const member of byPeer.values()) void check(member)
      }, options.healthIntervalMs)
      timer.unref()
    },
    stop() {
      stopped = true
      if (timer) clearInterval(timer)
      libp2p.removeEventListener('connection:open', onOpen)
      libp2p.removeEventListener('peer:disconnect', onDisconnect)
    },
  }
}
