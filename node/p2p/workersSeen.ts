// The workers this node has heard from (via heartbeats), with when it last heard from each; the
// gateway's GET /pool reads it. Bounded: old entries expire and the oldest go first when full.

/** What one heartbeat says (workerHeartbeats.ts validates it off the gossip topic). */
export type WorkerHeartbeat = {
  v: 1
  chainId: number
  market: string
  peerId: string
  /** The worker's eth account (0x + 40 hex, lowercase), the one that stakes. */
  address: string
  capabilities: { interpreters: string[]; gpu: boolean; maxJobs: number }
  /** Environment digests (0x + 64 hex) the worker can run. */
  environments: string[]
  load: { running: number }
  /** What the worker asks (wei, decimal strings): its price floor, and the least reward it takes at the fee it last saw (null before it saw one). Absent from older workers. */
  ask?: { minProfitWei: string; minRewardWei: string | null } | undefined
  /** Sender's clock, ms since epoch. */
  sentAt: number
}

export type SeenWorker = WorkerHeartbeat & {
  /** Local time (ms since epoch) the latest heartbeat arrived. */
  lastSeen: number
}

export type WorkersSeenOptions = {
  maxEntries?: number
  /** Entries not refreshed for this long are dropped from `list`. */
  expireAfterMs?: number
  now?: () => number
}

export const defaultWorkersSeenOptions = {
  // A large public pool; each entry is well under 4 KiB.
  maxEntries: 10_000,
  // Six missed heartbeats at the default 10 s interval.
  expireAfterMs: 60_000,
} as const

export class WorkersSeen {
  private readonly entries = new Map<string, SeenWorker>()
  private readonly maxEntries: number
  private readonly expireAfterMs: number
  private readonly now: () => number

  constructor({ maxEntries = defaultWorkersSeenOptions.maxEntries, expireAfterMs = defaultWorkersSeenOptions.expireAfterMs, now = Date.now }: WorkersSeenOptions = {}) {
    this.maxEntries = maxEntries
    this.expireAfterMs = expireAfterMs
    this.now = now
  }

  record(heartbeat: WorkerHeartbeat): void {
    // Re-inserting keeps the Map in last-seen order, so the first key is always the stalest.
    this.entries.delete(heartbeat.peerId)
    this.entries.set(heartbeat.peerId, { ...heartbeat, lastSeen: this.now() })
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!)
  }

  get(peerId: string): SeenWorker | undefined {
    const entry = this.entries.get(peerId)
    return entry && this.now() - entry.lastSeen <= this.expireAfterMs ? entry : undefined
  }

  /** Live workers, most recently seen first. */
  list(): SeenWorker[] {
    const cutoff = this.now() - this.expireAfterMs
    for (const [peerId, entry] of this.entries) {
      if (entry.lastSeen >= cutoff) break
      this.entries.delete(peerId)
    }
    return [...this.entries.values()].reverse()
  }
}
