import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { GossipInvalidMessage } from './gossipChannel.ts'
import { gossipInternals } from './gossipScoring.ts'
import { jobAnnouncements, parseJobAnnouncement, type JobAnnouncement, type JobAnnouncementsService } from './jobAnnouncements.ts'
import { startTestHosts, type StartTestHostsReturnType } from './startTestHosts.ts'
import { workerHeartbeats, type HeartbeatParameters, type WorkerHeartbeatsService } from './workerHeartbeats.ts'
import type { SandrunHost } from './createHost.ts'
import { chainJobId, parseSpecHash } from '../../verifier/index.ts'

const deployment = { chainId: 31337, market: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }
const hash = (digit: string): string => `0x${digit.repeat(64)}`
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(typeof value === 'string' ? value : JSON.stringify(value))

/** Resolves once `condition` holds, re-checking whenever `target` fires `event` (no timers). */
function until(target: EventTarget, event: string, condition: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const check = (): void => {
      if (!condition()) return
      target.removeEventListener(event, check)
      resolve()
    }
    target.addEventListener(event, check)
    check()
  })
}

function subscribersOf(host: SandrunHost, topic: string, peers: SandrunHost[]): Promise<void> {
  const pubsub = host.libp2p.services.pubsub
  return until(pubsub, 'subscription-change', () => peers.every((peer) => pubsub.getSubscribers(topic).some((id) => id.equals(peer.libp2p.peerId))))
}

/** Every host sees every other host subscribed to `topic` (gossip publishes only to known subscribers). */
async function everyoneSubscribed(hosts: SandrunHost[], topic: string): Promise<void> {
  await Promise.all(hosts.map((host) => subscribersOf(host, topic, hosts.filter((other) => other !== host))))
}

describe('job announcements', () => {
  let net: StartTestHostsReturnType
  let services: JobAnnouncementsService[]
  const received: Array<Array<{ announcement: JobAnnouncement; from: string }>> = []
  const invalid: GossipInvalidMessage[][] = []
  const onChainJobs = new Set([1n, 2n])

  beforeAll(async () => {
    net = await startTestHosts({ count: 4 })
    services = net.hosts.map((host, i) => {
      received[i] = []
      invalid[i] = []
      const service = jobAnnouncements({
        deployment,
        validateOnChain: (announcement) => onChainJobs.has(announcement.jobId),
        onAnnouncement: (announcement, from) => received[i]!.push({ announcement, from }),
        onInvalid: (info) => invalid[i]!.push(info),
      })(host.libp2p.services.pubsub)
      service.start()
      return service
    })
    await everyoneSubscribed(net.hosts, services[0]!.topic)
  })
  afterAll(async () => net?.stop())

  const announcement = (jobId: bigint) => ({
    jobId: chainJobId(jobId),
    specHash: parseSpecHash(hash('a')),
    bundleSha256: hash('b'),
    bundleSize: 1234,
    providers: [`/ip4/127.0.0.1/tcp/4001/p2p/${net.hosts[0]!.peerId}`],
  })

  // The same announcement as it travels: the job id in decimal.
  const wire = (jobId: string) => ({ ...announcement(BigInt(jobId)), jobId })

  it('uses one topic per deployment', () => {
    expect(services[0]!.topic).toBe('sandrun/31337/0x5fbdb2315678afecb367f032d93f642f64180aa3/jobs')
  })

  it('reaches the three subscribed peers', async () => {
    const { recipients } = await services[0]!.announce(announcement(1n))
    expect(recipients).toBe(3)
    for (const i of [1, 2, 3]) {
      await until(net.hosts[i]!.libp2p.services.pubsub, 'message', () => received[i]!.length > 0)
      expect(received[i]![0]).toEqual({
        announcement: { v: 1, chainId: 31337, market: deployment.market.toLowerCase(), ...announcement(1n) },
        from: net.hosts[0]!.peerId,
      })
    }
  })

  it('parseJobAnnouncement names what is wrong with each malformed message', () => {
    const base = { v: 1, chainId: 31337, market: deployment.market.toLowerCase(), ...wire('2') }
    const reason = (value: unknown): unknown => parseJobAnnouncement(encode(value), deployment)
    expect(reason(base)).toEqual({ ...base, jobId: 2n })
    expect(reason('[1]')).toBe('not a JSON object')
    expect(reason({ ...base, bundleSize: '1234' })).toMatch(/bundleSize/)
    expect(reason({ ...base, bundleSize: 200 * 1024 * 1024 })).toMatch(/bundleSize/)
    expect(reason({ ...base, extra: true })).toMatch(/unknown field/)
    expect(reason({ ...base, v: 2 })).toMatch(/v is not 1/)
    expect(reason({ ...base, market: '0x0000000000000000000000000000000000000001' })).toBe('announcement for another deployment')
    expect(reason({ ...base, jobId: '01' })).toMatch(/jobId/)
    expect(reason({ ...base, specHash: hash('A') })).toMatch(/specHash/)
    expect(reason({ ...base, providers: [] })).toMatch(/providers/)
    expect(reason({ ...base, providers: ['/ip4/1.2.3.4/tcp/1'] })).toMatch(/provider/)
  })

  it('refuses to publish an announcement that peers would reject', async () => {
    await expect(services[0]!.announce({ ...announcement(1n), bundleSha256: 'nope' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })

  it('rejects malformed, foreign and off-chain messages, and the sender pays in score', async () => {
    const rogue = net.hosts[3]!
    const topic = services[0]!.topic
    const base = { v: 1, chainId: 31337, market: deployment.market.toLowerCase(), ...wire('2') }
    // Three strikes: the third rejection graylists the rogue (score -90), so later messages would be dropped unread.
    const bad = [encode('not json {'), encode({ ...base, chainId: 1 }), encode({ ...base, jobId: '99' })]
    const before = received.map((list) => list.length)
    // The rogue bypasses the service's own checks and publishes raw bytes on the topic.
    for (const data of bad) await rogue.libp2p.services.pubsub.publish(topic, data)
    for (const i of [0, 1, 2]) {
      const pubsub = gossipInternals(net.hosts[i]!.libp2p.services.pubsub)
      await until(pubsub, 'gossipsub:heartbeat', () => invalid[i]!.filter((info) => info.from === rogue.peerId).length >= bad.length)
      expect(invalid[i]!.every((info) => info.result === 'reject')).toBe(true)
      expect(invalid[i]!.map((info) => info.reason)).toEqual(
        expect.arrayContaining(['not UTF-8 JSON', 'announcement for another deployment', 'the job does not exist on chain as announced']),
      )
      // Score caches refresh on the heartbeat; the rogue ends up well below the gossip threshold.
      await until(pubsub, 'gossipsub:heartbeat', () => pubsub.getScore(rogue.peerId) < -10)
    }
    expect(received.map((list) => list.length)).toEqual(before)
    expect(services[1]!.stats().rejected).toBeGreaterThanOrEqual(bad.length)
  })
})

describe('worker heartbeats', () => {
  let net: StartTestHostsReturnType
  let services: WorkerHeartbeatsService[]
  const beat: HeartbeatParameters = {
    address: '0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266',
    capabilities: { interpreters: ['python3', 'node'], gpu: false, maxJobs: 2 },
    environments: [hash('c')],
    load: { running: 1 },
    ask: { minProfitWei: '100', minRewardWei: '180000000000100' },
  }

  beforeAll(async () => {
    net = await startTestHosts({ count: 3 })
    services = net.hosts.map((host) => {
      const service = workerHeartbeats({ deployment })(host.libp2p.services.pubsub, host.peerId)
      service.start()
      return service
    })
    await everyoneSubscribed(net.hosts, services[0]!.topic)
  })
  afterAll(async () => net?.stop())

  it('populates workersSeen with each worker and when it was last seen', async () => {
    const [gateway, workerA, workerB] = net.hosts as [SandrunHost, SandrunHost, SandrunHost]
    const started = Date.now()
    await services[1]!.beat(beat)
    // A worker from before asks were announced says nothing of its ask.
    await services[2]!.beat({ ...beat, load: { running: 0 }, ask: undefined })
    const seen = services[0]!.workersSeen
    await until(gateway.libp2p.services.pubsub, 'message', () => seen.list().length === 2)
    expect(seen.get(workerA.peerId)).toMatchObject({ ...beat, peerId: workerA.peerId, chainId: 31337 })
    expect(seen.get(workerB.peerId)?.load).toEqual({ running: 0 })
    expect(seen.get(workerB.peerId)?.ask).toBeUndefined()
    expect(seen.get(workerA.peerId)!.lastSeen).toBeGreaterThanOrEqual(started)
  })

  it('refuses to send an ask that is not decimal wei', async () => {
    await expect(services[1]!.beat({ ...beat, ask: { minProfitWei: '1e18', minRewardWei: null } })).rejects.toThrow(/ask has wrong field types/)
  })

  it('rejects a heartbeat that claims to be another worker', async () => {
    const [gateway, workerA, workerB] = net.hosts as [SandrunHost, SandrunHost, SandrunHost]
    const forged = { v: 1, chainId: 31337, market: deployment.market.toLowerCase(), peerId: workerA.peerId, ...beat, load: { running: 99 }, sentAt: Date.now() }
    await workerB.libp2p.services.pubsub.publish(services[0]!.topic, encode(forged))
    await until(gateway.libp2p.services.pubsub, 'gossipsub:heartbeat', () => services[0]!.stats().rejected >= 1)
    expect(services[0]!.workersSeen.get(workerA.peerId)?.load).toEqual({ running: 1 })
  })
})
