// Gossip benchmark: 21 nodes on loopback (1 publisher + 20 subscribers, each node linked to a few
// earlier ones so the mesh is connected but not complete); publishes 50 announcements and prints
// p50/p99 of publish -> receipt over all 20 x 50 deliveries. Run: node --import tsx bench/network/gossip.ts
import '../../node/promiseWithResolvers.ts'
import { jobAnnouncements, type JobAnnouncementsService } from '../../node/p2p/jobAnnouncements.ts'
import { startTestHosts } from '../../node/p2p/startTestHosts.ts'
import { chainJobId, parseSpecHash } from '../../verifier/index.ts'

const subscribers = 20
const rounds = 50
const deployment = { chainId: 31337, market: '0x5fbdb2315678afecb367f032d93f642f64180aa3' }

const links: Array<[number, number]> = []
for (let i = 1; i <= subscribers; i++) {
  for (const j of new Set([i - 1, Math.floor((i - 1) / 2), Math.floor(i / 3)])) if (j < i) links.push([i, j])
}
const net = await startTestHosts({
  count: subscribers + 1,
  links,
  // All peers share 127.0.0.1: lift the per-IP limits that protect a public node.
  options: { gossipScoreParams: { IPColocationFactorWeight: 0 }, inboundConnectionsPerSecondPerHost: 1000 },
})
const sent = new Map<bigint, number>()
const latencies: number[] = []
let pending = 0
let roundDone: (() => void) | undefined
const services: JobAnnouncementsService[] = net.hosts.map((host) => {
  const service = jobAnnouncements({
    deployment,
    onAnnouncement: (announcement) => {
      latencies.push(performance.now() - sent.get(announcement.jobId)!)
      if (--pending === 0) roundDone?.()
    },
  })(host.libp2p.services.pubsub)
  service.start()
  return service
})
// Wait for every subscriber's mesh to include at least one peer for the topic (no timers: heartbeat events).
await Promise.all(
  net.hosts.map(
    (host) =>
      new Promise<void>((resolve) => {
        const pubsub = host.libp2p.services.pubsub as unknown as EventTarget & { getMeshPeers(topic: string): string[] }
        const check = (): void => {
          if (pubsub.getMeshPeers(services[0]!.topic).length === 0) return
          pubsub.removeEventListener('gossipsub:heartbeat', check)
          resolve()
        }
        pubsub.addEventListener('gossipsub:heartbeat', check)
        check()
      }),
  ),
)
for (let round = 1; round <= rounds; round++) {
  const jobId = chainJobId(BigInt(round))
  pending = subscribers
  const done = new Promise<void>((resolve) => (roundDone = resolve))
  sent.set(jobId, performance.now())
  await services[0]!.announce({
    jobId,
    specHash: parseSpecHash(`0x${'a'.repeat(64)}`),
    bundleSha256: `0x${'b'.repeat(64)}`,
    bundleSize: 1000,
    providers: [net.hosts[0]!.multiaddrs()[0]!],
  })
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5000))])
}
await net.stop()
latencies.sort((a, b) => a - b)
const pick = (q: number): string => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN).toFixed(1)
console.log(`gossip: ${latencies.length}/${subscribers * rounds} deliveries to ${subscribers} peers; p50 ${pick(0.5)} ms, p99 ${pick(0.99)} ms, max ${pick(1)} ms`)
