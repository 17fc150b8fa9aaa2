// Worker heartbeats on `sandrun/<chainId>/<market>/workers`: each worker says who it is (peer id,
// eth address), what it can run (interpreters, environment digests, GPU) and how busy it is. Same
// validation discipline as announcements; a heartbeat must be signed by the peer it describes, so
// nobody can advertise (or smear) another worker. Accepted heartbeats land in a WorkersSeen registry.
import type { GossipSub } from '@libp2p/gossipsub'
import { type Deployment, workersTopic } from './deploymentTopics.ts'
import { decodeJsonObject } from './decodeJsonObject.ts'
import { P2pError } from './errors.ts'
import { gossipChannel, type GossipInvalidMessage } from './gossipChannel.ts'
import { type WorkerHeartbeat, WorkersSeen } from './workersSeen.ts'

export type HeartbeatParameters = Pick<WorkerHeartbeat, 'address' | 'capabilities' | 'environments' | 'load' | 'ask'>

export type WorkerHeartbeatsInit = {
  deployment: Deployment
  workersSeen?: WorkersSeen
  onInvalid?: (info: GossipInvalidMessage) => void
  /** Heartbeats whose clock is further than this from ours are ignored (not penalised: clocks drift). */
  maxClockSkewMs?: number
  now?: () => number
}

export const defaultHeartbeatOptions = {
  maxMessageBytes: 8192,
  maxListLength: 64,
  maxClockSkewMs: 5 * 60_000,
} as const

export type WorkerHeartbeatsService = {
  readonly topic: string
  readonly workersSeen: WorkersSeen
  start(): void
  stop(): void
  /** Publishes this node's heartbeat (its own peer id is filled in). */
  beat(parameters: HeartbeatParameters): Promise<{ recipients: number }>
  stats(): { accepted: number; rejected: number; ignored: number }
}

const fields = ['v', 'chainId', 'market', 'peerId', 'address', 'capabilities', 'environments', 'load', 'ask', 'sentAt']
const weiString = /^(0|[1-9][0-9]{0,77})$/

function isStringList(value: unknown, pattern: RegExp): value is string[] {
  return Array.isArray(value) && value.length <= defaultHeartbeatOptions.maxListLength && value.every((item) => typeof item === 'string' && pattern.test(item))
}

/** Shape and deployment checks; a string is the reason the message is rejected. */
export function parseWorkerHeartbeat(data: Uint8Array, deployment: Deployment): WorkerHeartbeat | string {
  const value = decodeJsonObject(data)
  if (typeof value === 'string') return value
  const h = value
  if (Object.keys(h).some((key) => !fields.includes(key))) return 'unknown field'
  if (h.v !== 1) return 'v is not 1'
  if (h.chainId !== deployment.chainId || h.market !== deployment.market.toLowerCase()) return 'heartbeat for another deployment'
  if (typeof h.peerId !== 'string' || h.peerId.length > 128) return 'peerId is not a string'
  if (typeof h.address !== 'string' || !/^0x[0-9a-f]{40}$/.test(h.address)) return 'address is not 0x + 40 lowercase hex'
  const c = h.capabilities as Record<string, unknown> | null
  if (typeof c !== 'object' || c === null || Object.keys(c).some((key) => !['interpreters', 'gpu', 'maxJobs'].includes(key))) return 'capabilities is not {interpreters, gpu, maxJobs}'
  if (!isStringList(c.interpreters, /^[A-Za-z0-9_.+-]{1,32}$/) || typeof c.gpu !== 'boolean' || !Number.isSafeInteger(c.maxJobs) || (c.maxJobs as number) < 0) return 'capabilities has wrong field types'
  if (!isStringList(h.environments, /^0x[0-9a-f]{64}$/)) return 'environments is not a list of 0x + 64 hex digests'
  const l = h.load as Record<string, unknown> | null
  if (typeof l !== 'object' || l === null || Object.keys(l).some((key) => key !== 'running') || !Number.isSafeInteger(l.running) || (l.running as number) < 0) return 'load is not {running}'
  const a = h.ask as Record<string, unknown> | null | undefined
  if (a !== undefined) {
    if (typeof a !== 'object' || a === null || Object.keys(a).some((key) => key !== 'minProfitWei' && key !== 'minRewardWei')) return 'ask is not {minProfitWei, minRewardWei}'
    if (typeof a.minProfitWei !== 'string' || !weiString.test(a.minProfitWei) || !(a.minRewardWei === null || (typeof a.minRewardWei === 'string' && weiString.test(a.minRewardWei)))) {
      return 'ask has wrong field types (decimal wei strings)'
    }
  }
  if (typeof h.sentAt !== 'number' || !Number.isSafeInteger(h.sentAt)) return 'sentAt is not an integer'
  return h as WorkerHeartbeat
}

export function workerHeartbeats(init: WorkerHeartbeatsInit) {
  return (pubsub: GossipSub, selfPeerId: string): WorkerHeartbeatsService => createWorkerHeartbeats(pubsub, selfPeerId, init)
}

function createWorkerHeartbeats(pubsub: GossipSub, selfPeerId: string, init: WorkerHeartbeatsInit): WorkerHeartbeatsService {
  const { deployment } = init
  const topic = workersTopic(deployment)
  const workersSeen = init.workersSeen ?? new WorkersSeen()
  const now = init.now ?? Date.now
  const maxClockSkewMs = init.maxClockSkewMs ?? defaultHeartbeatOptions.maxClockSkewMs

  const channel = gossipChannel<WorkerHeartbeat>(pubsub, {
    topic,
    maxMessageBytes: defaultHeartbeatOptions.maxMessageBytes,
    validate(data, message) {
      const parsed = parseWorkerHeartbeat(data, deployment)
      if (typeof parsed === 'string') return { reject: parsed }
      if (message.type !== 'signed' || message.from.toString() !== parsed.peerId) return { reject: 'heartbeat not signed by the peer it describes' }
      if (Math.abs(now() - parsed.sentAt) > maxClockSkewMs) return { ignore: 'heartbeat clock too far from ours' }
      return { accept: parsed }
    },
    onMessage: (heartbeat) => workersSeen.record(heartbeat),
    onInvalid: init.onInvalid,
  })

  return {
    topic,
    workersSeen,
    start: () => channel.start(),
    stop: () => channel.stop(),
    async beat(parameters) {
      const heartbeat: WorkerHeartbeat = { v: 1, chainId: deployment.chainId, market: deployment.market.toLowerCase(), peerId: selfPeerId, ...parameters, sentAt: now() }
      const data = new TextEncoder().encode(JSON.stringify(heartbeat))
      const problem = data.byteLength > defaultHeartbeatOptions.maxMessageBytes ? 'it is too large' : parseWorkerHeartbeat(data, deployment)
      if (typeof problem === 'string') throw new P2pError('INVALID_ARGUMENT', `This heartbeat would be rejected by every peer: ${problem}.`)
      return channel.publish(data)
    },
    stats: () => channel.stats(),
  }
}
