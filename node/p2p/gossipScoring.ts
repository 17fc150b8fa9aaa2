// Gossipsub peer scoring for Sandrun's topics. A topic only counts towards a peer's score once it
// has score parameters, so each gossip service registers its topic here when it starts; a message
// its validator rejects then lowers the sender's score (P4), and a peer that keeps sending junk is
// first no longer gossiped to, then graylisted.
import type { GossipSub } from '@libp2p/gossipsub'
import { createTopicScoreParams, type PeerScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'

/**
 * The parts of the gossipsub implementation Sandrun uses beyond its public interface: the score
 * (tests and /pool read it) and the mesh (tests wait for it to form).
 */
export type GossipSubInternals = GossipSub & {
  getScore(peerId: string): number
  getMeshPeers(topic: string): string[]
  score: { params: PeerScoreParams }
}

export function gossipInternals(pubsub: GossipSub): GossipSubInternals {
  return pubsub as GossipSubInternals
}

/**
 * Why each value: announcements and heartbeats are sparse, so the mesh-delivery penalties (P3, P3b)
 * are off (they would punish honest quiet peers); first deliveries and time in mesh add a little
 * trust; one invalid message costs 10 points (below gossipsub's gossip threshold of -10) and the
 * penalty is quadratic, so three bad messages graylist a peer (-80); it halves in about 20 s.
 */
export const sandrunTopicScoreParams: Partial<TopicScoreParams> = {
  topicWeight: 1,
  timeInMeshWeight: 0.01,
  timeInMeshQuantum: 1000,
  timeInMeshCap: 300,
  firstMessageDeliveriesWeight: 0.5,
  firstMessageDeliveriesDecay: 0.9,
  firstMessageDeliveriesCap: 10,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: -10,
  invalidMessageDeliveriesDecay: 0.97,
}

/** Makes messages on `topic` count towards peer scores (idempotent). */
export function scoreTopic(pubsub: GossipSub, topic: string): void {
  const { params } = gossipInternals(pubsub).score
  params.topics[topic] ??= createTopicScoreParams(sandrunTopicScoreParams)
}
