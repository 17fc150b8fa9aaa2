// A worker that is connected to nobody hears no job announcements and says "ready" all the same;
// this tells its operator, after `afterMs` and then every `everyMs` while it lasts, why and how to fix it.
import type { SandrunLibp2p } from '../p2p/index.ts'

export type WarnWithoutPeersParameters = {
  libp2p: Pick<SandrunLibp2p, 'getConnections'>
  log: (message: string, context: Record<string, unknown>) => void
  afterMs?: number
  everyMs?: number
}

export const defaultWarnWithoutPeersOptions = {
  // Bootstrap dials and mDNS answer within a second or two on a LAN; 10 s means nobody is there.
  afterMs: 10_000,
  everyMs: 60_000,
} as const

/** Returns a function that stops the checks. */
export function warnWithoutPeers({ libp2p, log, afterMs = defaultWarnWithoutPeersOptions.afterMs, everyMs = defaultWarnWithoutPeersOptions.everyMs }: WarnWithoutPeersParameters): () => void {
  let timer: NodeJS.Timeout
  const check = (waitedMs: number): void => {
    if (libp2p.getConnections().length === 0) {
      log('no peer: this worker receives no jobs', {
        waitedSeconds: Math.round(waitedMs / 1000),
        fix: 'restart it with --bootstrap <gateway multiaddr>: a gateway prints its multiaddrs on its ready line (sandrun dev: p2p=...) and in GET /health (p2p.multiaddrs)',
      })
    }
    timer = setTimeout(() => check(waitedMs + everyMs), everyMs)
    timer.unref()
  }
  timer = setTimeout(() => check(afterMs), afterMs)
  timer.unref()
  return () => clearTimeout(timer)
}
