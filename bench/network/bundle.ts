// Bundle transfer benchmark: two nodes on loopback; fetches (and verifies) bundles of 1, 16 and
// 64 MiB over /sandrun/bundle/1.0.0 and prints MiB/s. Run: node --import tsx bench/network/bundle.ts
import '../../node/promiseWithResolvers.ts'
import { createHash, randomBytes } from 'node:crypto'
import { bundleService } from '../../node/p2p/bundleService.ts'
import { startTestHosts } from '../../node/p2p/startTestHosts.ts'

const net = await startTestHosts({ count: 2 })
const [client, provider] = net.hosts as [NonNullable<(typeof net.hosts)[0]>, NonNullable<(typeof net.hosts)[0]>]
const store = new Map<string, Uint8Array>()
await bundleService({ getBundle: (sha256) => store.get(sha256) })(provider.libp2p).start()
const fetcher = bundleService({})(client.libp2p)
for (const mib of [1, 16, 64]) {
  const bundle = new Uint8Array(randomBytes(mib * 1024 * 1024))
  const sha256 = `0x${createHash('sha256').update(bundle).digest('hex')}`
  store.set(sha256, bundle)
  const runs = mib === 64 ? 2 : 4
  const started = performance.now()
  for (let i = 0; i < runs; i++) await fetcher.fetch({ peer: provider.libp2p.peerId, sha256, expectedSize: bundle.byteLength })
  const seconds = (performance.now() - started) / 1000
  console.log(`bundle ${String(mib).padStart(2)} MiB: ${((mib * runs) / seconds).toFixed(1)} MiB/s (${runs} fetches, verified)`)
  store.delete(sha256)
}
await net.stop()
