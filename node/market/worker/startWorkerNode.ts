// A running market worker: the libp2p host (keyed by the worker key), the market client of the
// account derived from that key, the stake, the gossip topics (announcements in, heartbeats out),
// the result and logs protocols, and the worker logic between them. `sandrun worker` and the
// tests start workers through this one function.
import type { Hex } from 'viem'
import { createMarketClient } from '../../chain/marketClient.ts'
import { defaultAccountTransactionsOptions } from '../../chain/accountTransactions.ts'
import { confirmationDepth } from '../../chain/confirmationDepth.ts'
import type { Deployment } from '../../chain/deployment.ts'
import { bundleService } from '../../p2p/bundleService.ts'
import { P2pError } from '../../p2p/errors.ts'
import { createHost, type CreateHostParameters, type SandrunHost } from '../../p2p/createHost.ts'
import { jobAnnouncements } from '../../p2p/jobAnnouncements.ts'
import { logsService } from '../../p2p/logsService.ts'
import { resultService } from '../../p2p/resultService.ts'
import { workerHeartbeats } from '../../p2p/workerHeartbeats.ts'
import type { Sandbox } from '../../../sandbox/index.ts'
import { ethAccountFromWorkerKey } from '../ethAccount.ts'
import { createWorker, defaultWorkerOptions, type Worker, type WorkerNetwork } from './createWorker.ts'
import { ensureStake } from './ensureStake.ts'
import { parseFaultMode, type FaultMode } from './faultMode.ts'
import { createJobStore } from './jobStore.ts'
import type { Clock } from '../../clock/systemClock.ts'
import { openStorage } from '../../storage/openStorage.ts'
import { scratchDirFor } from '../../storage/scratchDirFor.ts'
import { maxSpecDocumentBytes } from './specDocument.ts'
import { workerChain } from './workerChain.ts'
import { WorkerError } from './workerError.ts'
import { silentLog, type WorkerLog } from './workerLog.ts'
import { errorCodeOf } from '../../../errors/index.ts'

export type StartWorkerNodeParameters = {
  rpcUrl: string
  deployment: Deployment
  /** The worker key file (`sandrun keygen`); without it the key lives in `<dataDir>/worker-key.json`. */
  keyFile?: string | undefined
  /** Commitment records in clear (chain facts) and results sealed under keys held in memory only. */
  dataDir: string
  /** tmpfs directory for output files between the sandbox and sealing (default: scratchDirFor(dataDir), on /dev/shm). */
  scratchDir?: string | undefined
  /** Accept a scratch dir that is not tmpfs (output files would touch a disk in clear). */
  allowDiskStorage?: boolean | undefined
  /** Created once per process by the caller (createSandbox); shared by every job. */
  sandbox: Sandbox
  /** Stake to hold, in wei; default 10 x the deployment's minimum collateral. */
  stake?: bigint | undefined
  listen?: string[] | undefined
  announce?: string[] | undefined
  bootstrap?: string[] | undefined
  maxJobs?: number | undefined
  /** The raw `--fault` value; refused unless the RPC's chain id is a dev chain. */
  fault?: string | undefined
  heartbeatMs?: number | undefined
  pollMs?: number | undefined
  /** See createWorker's recheckMaxWaitMs. */
  recheckMaxWaitMs?: number | undefined
  resultWindowMs?: number | undefined
  /** What retention counts on (tests let it pass); default the system clock. */
  clock?: Clock | undefined
  /** Withdraw earnings once they reach this much (wei); 0 = after every settlement. */
  withdrawAtWei?: bigint | undefined
  /** The least a job's reward must leave after its gas at the current fee (wei); default 0. */
  minProfitWei?: bigint | undefined
  /** Depth the chain's settlements are trusted at (default: the chain's, node/chain/confirmationDepth.ts). */
  confirmations?: number | undefined
  log?: WorkerLog | undefined
  exit?: ((code: number) => void) | undefined
  /** Extra host options (tests relax gossip's same-IP penalty). */
  host?: Partial<CreateHostParameters> | undefined
}

export type WorkerNode = {
  worker: Worker
  host: SandrunHost
  /** The worker's eth address (derived from its key). */
  address: Hex
  peerId: string
  fault: FaultMode | null
  stop(): Promise<void>
}

export const defaultWorkerNodeOptions = {
  // Workers seen expire after 60 s without a heartbeat; 5 s keeps /pool fresh at a few bytes a second.
  heartbeatMs: 5000,
  // Enough collateral for ten minimum-reward jobs at once.
  stakeCollateralMultiple: 10n,
} as const

export async function startWorkerNode(parameters: StartWorkerNodeParameters): Promise<WorkerNode> {
  const { deployment, sandbox } = parameters
  const log = parameters.log ?? silentLog
  const host = await createHost({
    ...parameters.host,
    keyFile: parameters.keyFile,
    dataDir: parameters.dataDir,
    ...(parameters.listen ? { listen: parameters.listen } : {}),
    ...(parameters.announce ? { announce: parameters.announce } : {}),
    ...(parameters.bootstrap ? { bootstrap: parameters.bootstrap } : {}),
  })
  const started: Array<() => Promise<void> | void> = [() => host.stop()]
  let stopping: Promise<void> | undefined
  const stopAll = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const stop of [...started].reverse()) await Promise.resolve(stop()).catch(() => undefined)
    })())
  try {
    const account = ethAccountFromWorkerKey(host.workerKey)
    const watchDepth = Math.max(confirmationDepth(deployment.chainId, parameters.confirmations), defaultAccountTransactionsOptions.watchDepth)
    const client = createMarketClient({
      rpcUrl: parameters.rpcUrl,
      address: deployment.market,
      account,
      pollingInterval: 100,
      // Commits and reveals are watched for reorgs as deep as the chain's settlements are trusted.
      transactions: { watchDepth },
      onTransactionEvent: ({ type, label, nonce, hash, reason }) => log(`transaction ${type}`, { label, nonce, tx: hash, reason }),
    })
    const chainId = await client.publicClient.getChainId()
    if (chainId !== deployment.chainId) {
      throw new WorkerError('CONFIG_INVALID', `The deployment file is for chain ${deployment.chainId} but ${parameters.rpcUrl} serves chain ${chainId}; pass the RPC of the deployment's chain.`)
    }
    const fault = parseFaultMode({ value: parameters.fault, chainId })
    const chain = workerChain({ client, chainId, deployBlock: deployment.deployBlock, log })
    const peerIdBytes = `0x${Buffer.from(host.libp2p.peerId.toMultihash().bytes).toString('hex')}` as Hex
    const stake = await ensureStake({
      chain,
      target: parameters.stake ?? deployment.params.minCollateral * defaultWorkerNodeOptions.stakeCollateralMultiple,
      peerId: peerIdBytes,
      workerKey: host.workerKey,
      log,
    })

    // Spec documents are small; a provider offering a huge "spec" is refused before any byte is read.
    const specs = bundleService({ maxBundleBytes: maxSpecDocumentBytes })(host.libp2p)
    const bundles = bundleService({})(host.libp2p)
    const network: WorkerNetwork = {
      async fetchBlob({ providers, sha256, expectedSize, kind, signal }) {
        const fetcher = kind === 'spec' ? specs : bundles
        let lastError: unknown
        for (const peer of providers) {
          try {
            const { data } = await fetcher.fetch({ peer, sha256, ...(expectedSize !== undefined ? { expectedSize } : {}), ...(signal ? { signal } : {}) })
            return data
          } catch (error) {
            lastError = error
            log('fetch from provider failed', { kind, sha256, provider: peer, reason: errorCodeOf(error) ?? String(error) })
            if (error instanceof P2pError && error.penalize) await host.denyPeer(peer.split('/p2p/').pop() ?? '').catch(() => undefined)
          }
        }
        throw new WorkerError('FETCH_FAILED', `No provider served the ${kind} ${sha256}; the job is skipped.`, { cause: lastError })
      },
    }

    const scratch = await openStorage({ root: parameters.scratchDir ?? scratchDirFor(parameters.dataDir), requireTmpfs: !parameters.allowDiskStorage, flag: '--scratch-dir' })
    started.push(() => scratch.close())
    const store = await createJobStore({ dataDir: parameters.dataDir, scratch })
    started.push(() => store.close())
    const worker = createWorker({
      chain,
      network,
      sandbox,
      store,
      workerKey: host.workerKey,
      maxJobs: parameters.maxJobs,
      fault,
      log,
      pollMs: parameters.pollMs,
      recheckMaxWaitMs: parameters.recheckMaxWaitMs,
      resultWindowMs: parameters.resultWindowMs,
      clock: parameters.clock,
      withdrawAtWei: parameters.withdrawAtWei,
      minProfitWei: parameters.minProfitWei,
      deployBlock: deployment.deployBlock,
      exit: parameters.exit,
    })
    await worker.start()
    started.push(() => worker.stop())

    const results = resultService({
      getResult: (jobId) => worker.getResult(jobId),
      onServed: (jobId, claim) => void worker.resultServed(jobId, claim).catch(() => undefined),
    })(host.libp2p)
    const logs = logsService({ openLogs: (jobId, signal) => worker.openLogs(jobId, signal) })(host.libp2p)
    await Promise.all([results.start(), logs.start()])
    started.push(() => results.stop(), () => logs.stop())

    const gossipDeployment = { chainId, market: deployment.market }
    const announcements = jobAnnouncements({
      deployment: gossipDeployment,
      validateOnChain: (announcement) => worker.validateAnnouncement(announcement),
      onAnnouncement: (announcement) => worker.offer(announcement),
      onInvalid: (info) => log('gossip message refused', { topic: info.topic, from: info.from, result: info.result, reason: info.reason }),
    })(host.libp2p.services.pubsub)
    announcements.start()
    started.push(() => announcements.stop())

    const beats = workerHeartbeats({ deployment: gossipDeployment })(host.libp2p.services.pubsub, host.peerId)
    beats.start()
    const beat = (): void => {
      beats.beat(worker.heartbeat()).catch((error: unknown) => log('heartbeat failed', { reason: String(error) }))
    }
    beat()
    const timer = setInterval(beat, parameters.heartbeatMs ?? defaultWorkerNodeOptions.heartbeatMs)
    timer.unref()
    started.push(() => clearInterval(timer), () => beats.stop())

    log('worker ready', {
      peerId: host.peerId,
      address: chain.address,
      multiaddrs: host.multiaddrs(),
      chainId,
      market: deployment.market,
      stakedWei: stake.staked,
      freeStakeWei: stake.free,
      maxJobs: parameters.maxJobs ?? defaultWorkerOptions.maxJobs,
      // Blocks each commit and reveal is watched for reorgs.
      watchDepth,
      fault,
    })
    return { worker, host, address: chain.address, peerId: host.peerId, fault, stop: stopAll }
  } catch (error) {
    await stopAll()
    throw error
  }
}
