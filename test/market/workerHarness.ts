// Test set-up for market workers: a real anvil with the market deployed (short windows), the real
// sandbox, and a minimal stand-in for the gateway's market backend: it posts a job with a spec
// document, serves spec and bundle through the bundle protocol and announces the job over gossip.
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createTestClient, createWalletClient, http, parseEther, type Hex } from 'viem'
import { startAnvil, type StartAnvilReturnType } from '../../node/chain/anvil.ts'
import { deployMarket } from '../../node/chain/deployMarket.ts'
import type { Deployment } from '../../node/chain/deployment.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient, type MarketClient } from '../../node/chain/marketClient.ts'
import type { MarketParams } from '../../node/chain/marketParams.ts'
import { testParams } from '../contracts/marketHarness.ts'
import { ethAccountFromWorkerKey } from '../../node/market/ethAccount.ts'
import type { Worker, WorkerPhaseEvent } from '../../node/market/worker/createWorker.ts'
import { hostEnvironments } from '../../node/market/worker/hostEnvironments.ts'
import type { WorkerJobPhase } from '../../node/market/worker/jobStore.ts'
import { specDocumentBytes, type ChainJobId, parseSpecHash, type SpecHash } from '../../verifier/index.ts'
import { startWorkerNode, type WorkerNode } from '../../node/market/worker/startWorkerNode.ts'
import { jsonLineLog, type WorkerLog } from '../../node/market/worker/workerLog.ts'
import { bundleService } from '../../node/p2p/bundleService.ts'
import { createHost, type SandrunHost } from '../../node/p2p/createHost.ts'
import { jobAnnouncements, type JobAnnouncementsService } from '../../node/p2p/jobAnnouncements.ts'
import { logsService, type LogsService } from '../../node/p2p/logsService.ts'
import { resultService, type ResultService } from '../../node/p2p/resultService.ts'
import { packFiles, type PackFileContent } from '../../sandbox/bundle/packFiles.ts'
import { createSandbox } from '../../sandbox/createSandbox.ts'
import { parseManifest } from '../../sandbox/manifest.ts'
import type { Sandbox } from '../../sandbox/sandbox.ts'
import { generateWorkerKey, saveWorkerKey } from '../../verifier/workerIdentity.ts'

export const ETH = 10n ** 18n
export const REWARD = parseEther('0.001')
/** Windows the tests skip with evm_increaseTime: the commit delay (an eighth) is 3 s of waiting per job. */
export const WINDOW = 24
export const testMarketParams: MarketParams = { ...testParams, minCollateral: parseEther('0.01') }
// Every host runs on 127.0.0.1; gossipsub would otherwise score co-located peers down.
const hostOptions = { gossipScoreParams: { IPColocationFactorWeight: 0 } }

export type TestWorker = {
  node: WorkerNode
  worker: Worker
  keyFile: string
  dataDir: string
  withdrawn: bigint[]
  /** Resolves when the job reaches `phase`; rejects if the worker drops it. */
  phase(jobId: ChainJobId, phase: WorkerJobPhase): Promise<void>
  stop(): Promise<void>
}

export type StartTestWorkerParameters = {
  fault?: string
  /** Reuse a key file and data dir (a restart). */
  keyFile?: string
  dataDir?: string
  exit?: (code: number) => void
  /** Earnings withdrawn once they reach this (wei); default the worker's own threshold. */
  withdrawAtWei?: bigint
  recheckMaxWaitMs?: number
  /** The worker's log entries (default none, or JSON lines with SANDRUN_TEST_WORKER_LOG). */
  log?: WorkerLog
}

export type PostedJob = { jobId: ChainJobId; specHash: SpecHash }

export type WorkerHarness = {
  anvil: StartAnvilReturnType
  deployment: Deployment
  sandbox: Sandbox
  requester: MarketClient
  gateway: SandrunHost
  results: ResultService
  logs: LogsService
  startWorker(parameters?: StartTestWorkerParameters): Promise<TestWorker>
  /** Sends 1 ETH to a worker account (for stake and gas). */
  fund(address: Hex): Promise<void>
  /** Dials a worker (e.g. one in another process) and waits until it listens for announcements. */
  connect(multiaddr: string, peerId: string): Promise<void>
  postJob(parameters: { files: Record<string, PackFileContent>; entrypoint: string; replicas: number }): Promise<PostedJob>
  increaseTime(seconds: number): Promise<void>
  stop(): Promise<void>
}

function jobsTopicSubscribed(gateway: SandrunHost, topic: string, peerId: string, present: boolean): Promise<void> {
  const pubsub = gateway.libp2p.services.pubsub
  return new Promise((resolve) => {
    const check = (): void => {
      if (pubsub.getSubscribers(topic).some((id) => id.toString() === peerId) !== present) return
      pubsub.removeEventListener('subscription-change', check)
      resolve()
    }
    pubsub.addEventListener('subscription-change', check)
    check()
  })
}

export function waitForPhase(worker: Worker, jobId: ChainJobId, phase: WorkerJobPhase): Promise<void> {
  const id = jobId
  return new Promise((resolve, reject) => {
    const done = (): void => {
      worker.events.off('phase', onPhase)
    }
    const check = (): void => {
      if (worker.jobs().find((job) => job.jobId === id)?.phase !== phase) return
      done()
      resolve()
    }
    const onPhase = (event: WorkerPhaseEvent): void => {
      if (event.jobId !== id) return
      if (event.phase === 'dropped') {
        done()
        reject(new Error(`worker dropped job ${id}: ${event.reason}`))
      } else check()
    }
    worker.events.on('phase', onPhase)
    check()
  })
}

export async function startWorkerHarness(): Promise<WorkerHarness> {
  const anvil = await startAnvil()
  const [deployer, requesterAccount, funderAccount] = devAccounts(3)
  const deployment = await deployMarket({ rpcUrl: anvil.rpcUrl, account: deployer!, params: testMarketParams, pollingInterval: 20 })
  const transport = http(anvil.rpcUrl)
  const testClient = createTestClient({ mode: 'anvil', transport })
  const funder = createWalletClient({ account: funderAccount!, transport })
  const requester = createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account: requesterAccount!, pollingInterval: 20 })
  const sandbox = await createSandbox()
  const environments = hostEnvironments(sandbox.capabilities)

  const blobs = new Map<string, Uint8Array>()
  const gateway = await createHost(hostOptions)
  const bundles = bundleService({ getBundle: (sha256) => blobs.get(sha256) })(gateway.libp2p)
  const results = resultService({})(gateway.libp2p)
  const logs = logsService({})(gateway.libp2p)
  await bundles.start()
  const announcements: JobAnnouncementsService = jobAnnouncements({ deployment: { chainId: deployment.chainId, market: deployment.market } })(gateway.libp2p.services.pubsub)
  announcements.start()
  const workers = new Set<TestWorker>()
  const dirs: string[] = []
  // Anvil automines: a transfer is in a block when the call returns.
  const fund = async (address: Hex): Promise<void> => {
    await funder.sendTransaction({ to: address, value: 1n * ETH, chain: null })
  }
  const connect = async (multiaddr: string, peerId: string): Promise<void> => {
    const subscribed = jobsTopicSubscribed(gateway, announcements.topic, peerId, true)
    await gateway.dial(multiaddr)
    await subscribed
  }

  return {
    anvil,
    deployment,
    sandbox,
    requester,
    gateway,
    results,
    logs,
    fund,
    connect,
    async startWorker({ fault, keyFile, dataDir, exit, withdrawAtWei, recheckMaxWaitMs, log } = {}) {
      if (!dataDir) {
        dataDir = await mkdtemp(path.join(tmpdir(), 'sandrun-worker-test-'))
        dirs.push(dataDir)
      }
      if (!keyFile) {
        const key = generateWorkerKey()
        keyFile = path.join(dataDir, 'test-worker.key')
        await saveWorkerKey(keyFile, key)
        await fund(ethAccountFromWorkerKey(key).address)
      }
      const node = await startWorkerNode({
        rpcUrl: anvil.rpcUrl,
        deployment,
        keyFile,
        dataDir,
        sandbox,
        stake: parseEther('0.1'),
        fault,
        pollMs: 50,
        exit,
        withdrawAtWei,
        host: hostOptions,
        recheckMaxWaitMs,
        ...(log ? { log } : process.env.SANDRUN_TEST_WORKER_LOG ? { log: jsonLineLog() } : {}),
      })
      const withdrawn: bigint[] = []
      node.worker.events.on('withdrawn', ({ amount }: { amount: bigint }) => withdrawn.push(amount))
      await connect(node.host.multiaddrs()[0]!, node.peerId)
      const testWorker: TestWorker = {
        node,
        worker: node.worker,
        keyFile,
        dataDir,
        withdrawn,
        phase: (jobId, phase) => waitForPhase(node.worker, jobId, phase),
        async stop() {
          workers.delete(testWorker)
          const gone = jobsTopicSubscribed(gateway, announcements.topic, node.peerId, false)
          await node.stop()
          await gone
        },
      }
      workers.add(testWorker)
      return testWorker
    },
    async postJob({ files, entrypoint, replicas }) {
      const bundle = await packFiles(files)
      const bundleSha256 = `0x${createHash('sha256').update(bundle).digest('hex')}`
      const manifest = parseManifest({ entrypoint, replicas })
      const environmentDigest = environments.digestFor(manifest.environment, manifest.interpreter)
      if (!environmentDigest) throw new Error(`this host cannot run ${manifest.interpreter}`)
      const spec = specDocumentBytes({ manifest, bundleSha256, environmentDigest })
      const specHash = parseSpecHash(`0x${createHash('sha256').update(spec).digest('hex')}`)
      blobs.set(specHash, spec)
      blobs.set(bundleSha256, bundle)
      const { jobId } = await requester.postJob({ specHash, replicas, commitWindow: WINDOW, revealWindow: WINDOW, reward: REWARD })
      await announcements.announce({ jobId, specHash, bundleSha256, bundleSize: bundle.byteLength, providers: gateway.multiaddrs() })
      return { jobId, specHash }
    },
    async increaseTime(seconds) {
      await testClient.increaseTime({ seconds })
      await testClient.mine({ blocks: 1 })
    },
    async stop() {
      for (const worker of [...workers]) await worker.stop()
      announcements.stop()
      await bundles.stop()
      await gateway.stop()
      await sandbox.close()
      await anvil.stop()
      await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })))
    },
  }
}
