// Job announcements on `sandrun/<chainId>/<market>/jobs`: the gateway says "job N exists, its bundle
// is here". Gossip is only a hint: every announcement is checked for shape and deployment by the
// topic validator, then on chain (`validateOnChain`, supplied by the market layer) before the
// application sees it and before anything is fetched.
import type { GossipSub } from '@libp2p/gossipsub'
import { multiaddr } from '@multiformats/multiaddr'
import { type ChainJobId, parseSpecHash, type SpecHash } from '../../verifier/index.ts'
import type { Deployment } from './deploymentTopics.ts'
import { jobsTopic } from './deploymentTopics.ts'
import { decodeChainJobId } from './decodeChainJobId.ts'
import { decodeJsonObject } from './decodeJsonObject.ts'
import { P2pError } from './errors.ts'
import { gossipChannel, type GossipInvalidMessage, type GossipVerdict } from './gossipChannel.ts'

/** An announcement as read: its ids in their own types (on the wire the job id is decimal). */
export type JobAnnouncement = {
  v: 1
  chainId: number
  /** Market address, lowercase. */
  market: string
  jobId: ChainJobId
  specHash: SpecHash
  bundleSha256: string
  bundleSize: number
  /** Multiaddrs (with /p2p/<peer id>) that serve the bundle. */
  providers: string[]
}

export type AnnounceParameters = Omit<JobAnnouncement, 'v' | 'chainId' | 'market'>

/** true: publish it; false: it contradicts the chain (sender penalised); 'ignore': cannot tell now (e.g. RPC lag). */
export type OnChainVerdict = boolean | 'ignore'

export type JobAnnouncementsInit = {
  deployment: Deployment
  validateOnChain?: (announcement: JobAnnouncement) => OnChainVerdict | Promise<OnChainVerdict>
  onAnnouncement?: (announcement: JobAnnouncement, from: string) => void
  onInvalid?: (info: GossipInvalidMessage) => void
  maxBundleBytes?: number
  validateTimeoutMs?: number
}

export const defaultJobAnnouncementOptions = {
  // An announcement is ~600 bytes with 3 providers; 4 KiB leaves room and nothing more.
  maxMessageBytes: 4096,
  maxProviders: 8,
  maxBundleBytes: 100 * 1024 * 1024,
  // Gossipsub asks validators to answer fast; a slow RPC means 'ignore', not a penalty.
  validateTimeoutMs: 2000,
} as const

export type JobAnnouncementsService = {
  readonly topic: string
  start(): void
  stop(): void
  /** Publishes an announcement for this deployment; recipients = peers it was sent to directly. */
  announce(parameters: AnnounceParameters): Promise<{ recipients: number }>
  stats(): { accepted: number; rejected: number; ignored: number }
}

const hashPattern = /^0x[0-9a-f]{64}$/
const fields = ['v', 'chainId', 'market', 'jobId', 'specHash', 'bundleSha256', 'bundleSize', 'providers']

/** Shape and deployment checks; a string is the reason the message is rejected. */
export function parseJobAnnouncement(data: Uint8Array, deployment: Deployment, maxBundleBytes: number = defaultJobAnnouncementOptions.maxBundleBytes): JobAnnouncement | string {
  const value = decodeJsonObject(data)
  if (typeof value === 'string') return value
  const a = value
  const unknown = Object.keys(a).find((key) => !fields.includes(key))
  if (unknown !== undefined) return `unknown field ${JSON.stringify(unknown.slice(0, 40))}`
  if (a.v !== 1) return 'v is not 1'
  if (a.chainId !== deployment.chainId || a.market !== deployment.market.toLowerCase()) return 'announcement for another deployment'
  const jobId = decodeChainJobId(a.jobId)
  if (jobId === null) return 'jobId is not a decimal string'
  if (typeof a.specHash !== 'string' || !hashPattern.test(a.specHash)) return 'specHash is not 0x + 64 lowercase hex'
  if (typeof a.bundleSha256 !== 'string' || !hashPattern.test(a.bundleSha256)) return 'bundleSha256 is not 0x + 64 lowercase hex'
  if (typeof a.bundleSize !== 'number' || !Number.isSafeInteger(a.bundleSize) || a.bundleSize < 0 || a.bundleSize > maxBundleBytes) return 'bundleSize is not an integer within the bundle cap'
  if (!Array.isArray(a.providers) || a.providers.length === 0 || a.providers.length > defaultJobAnnouncementOptions.maxProviders) return 'providers is not a list of 1-8 multiaddrs'
  for (const provider of a.providers) {
    if (typeof provider !== 'string' || provider.length > 256 || !isPeerMultiaddr(provider)) return 'a provider is not a multiaddr ending in /p2p/<peer id>'
  }
  return { ...(a as Omit<JobAnnouncement, 'jobId' | 'specHash'>), jobId, specHash: parseSpecHash(a.specHash) }
}

function isPeerMultiaddr(value: string): boolean {
  try {
    return multiaddr(value).getComponents().some((component) => component.name === 'p2p')
  } catch {
    return false
  }
}

export function jobAnnouncements(init: JobAnnouncementsInit) {
  return (pubsub: GossipSub): JobAnnouncementsService => createJobAnnouncements(pubsub, init)
}

function createJobAnnouncements(pubsub: GossipSub, init: JobAnnouncementsInit): JobAnnouncementsService {
  const { deployment } = init
  const topic = jobsTopic(deployment)
  const maxBundleBytes = init.maxBundleBytes ?? defaultJobAnnouncementOptions.maxBundleBytes
  const timeoutMs = init.validateTimeoutMs ?? defaultJobAnnouncementOptions.validateTimeoutMs

  async function validate(data: Uint8Array): Promise<GossipVerdict<JobAnnouncement>> {
    const parsed = parseJobAnnouncement(data, deployment, maxBundleBytes)
    if (typeof parsed === 'string') return { reject: parsed }
    if (init.validateOnChain === undefined) return { accept: parsed }
    const verdict = await Promise.race([
      Promise.resolve(init.validateOnChain(parsed)),
      new Promise<'timeout'>((resolve) => setTimeout(resolve, timeoutMs, 'timeout').unref()),
    ])
    if (verdict === true) return { accept: parsed }
    if (verdict === false) return { reject: 'the job does not exist on chain as announced' }
    return { ignore: verdict === 'timeout' ? 'on-chain check timed out' : 'on-chain check inconclusive' }
  }

  const channel = gossipChannel<JobAnnouncement>(pubsub, {
    topic,
    maxMessageBytes: defaultJobAnnouncementOptions.maxMessageBytes,
    validate,
    onMessage: (announcement, message) => init.onAnnouncement?.(announcement, message.type === 'signed' ? message.from.toString() : ''),
    onInvalid: init.onInvalid,
  })

  return {
    topic,
    start: () => channel.start(),
    stop: () => channel.stop(),
    async announce(parameters) {
      const announcement: JobAnnouncement = { v: 1, chainId: deployment.chainId, market: deployment.market.toLowerCase(), ...parameters }
      const data = new TextEncoder().encode(JSON.stringify({ ...announcement, jobId: announcement.jobId.toString() }))
      const problem = data.byteLength > defaultJobAnnouncementOptions.maxMessageBytes ? 'it is too large' : parseJobAnnouncement(data, deployment, maxBundleBytes)
      if (typeof problem === 'string') {
        throw new P2pError('INVALID_ARGUMENT', `This announcement would be rejected by every peer: ${problem}.`)
      }
      return channel.publish(data)
    },
    stats: () => channel.stats(),
  }
}
