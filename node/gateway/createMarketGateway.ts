// Market mode wiring: the deployment and the gateway's chain account (derived from its node key),
// a libp2p host, this host's environment digests, the sealed job store and the ledger of open
// chain jobs, the market backend and the REST gateway over it. Used by `sandrun gateway --mode market`, `sandrun dev` and the tests.
import type { FastifyInstance } from 'fastify'
import type { Address } from 'viem'
import { detectEnvironments, environmentsReport, detectInterpreters } from '../../sandbox/index.ts'
import { environmentDigest, loadWorkerKey } from '../../verifier/index.ts'
import { ethAccountFromWorkerKey } from '../market/ethAccount.ts'
import { openJobStore } from '../backends/market/jobStore.ts'
import { openJobLedger } from '../backends/market/openJobLedger.ts'
import type { Clock } from '../clock/systemClock.ts'
import { createMarketBackend, type MarketBackend } from '../backends/market/marketBackend.ts'
import { defaultMarketBackendOptions, type MarketBackendOptions } from '../backends/market/marketBackendOptions.ts'
import { readDeployment, type Deployment } from '../chain/deployment.ts'
import { createMarketClient } from '../chain/marketClient.ts'
import { defaultAccountTransactionsOptions } from '../chain/accountTransactions.ts'
import { confirmationDepth } from '../chain/confirmationDepth.ts'
import { createHost, type CreateHostParameters, type SandrunHost } from '../p2p/index.ts'
import { buildGateway } from './buildGateway.ts'
import type { GatewayOptions } from './config.ts'
import type { ErrorReport } from './errorHandler.ts'

export type MarketModeOptions = {
  rpcUrl: string
  deploymentFile: string
  /** The node key (sandrun keygen); its derived eth account pays the rewards and must be funded. */
  keyFile: string
  /** Job files sealed under in-memory keys (gone with the process), the ledger of open chain jobs, the node key. */
  dataDir: string
  listen: string[]
  bootstrap: string[]
  backend: Partial<MarketBackendOptions>
  /** Extra libp2p host options (tests and dev networks relax the per-IP limits meant for strangers). */
  host?: Partial<CreateHostParameters> | undefined
}

export type CreateMarketGatewayParameters = {
  gateway: GatewayOptions
  market: MarketModeOptions
  /** What retention counts on (tests let it pass); default the system clock. */
  clock?: Clock | undefined
  log?: ErrorReport | undefined
}

export type CreateMarketGatewayReturnType = {
  app: FastifyInstance
  backend: MarketBackend
  host: SandrunHost
  deployment: Deployment
  /** The eth account that posts jobs and pays rewards. */
  address: Address
  close(): Promise<void>
}

export async function createMarketGateway({ gateway, market: options, clock, log }: CreateMarketGatewayParameters): Promise<CreateMarketGatewayReturnType> {
  const key = await loadWorkerKey(options.keyFile)
  const account = ethAccountFromWorkerKey(key)
  const probe = createMarketClient({ rpcUrl: options.rpcUrl, address: '0x0000000000000000000000000000000000000000' })
  const chainId = await probe.publicClient.getChainId()
  const deployment = readDeployment({ file: options.deploymentFile, chainId })
  const confirmations = confirmationDepth(chainId, options.backend.confirmations)
  const market = createMarketClient({
    rpcUrl: options.rpcUrl,
    address: deployment.market,
    account,
    // Its posts and finalizes are watched for reorgs at least as deep as the jobs' settlements.
    transactions: { watchDepth: Math.max(confirmations, defaultAccountTransactionsOptions.watchDepth) },
    onTransactionEvent: ({ type, label, nonce, hash, reason }) => log?.(`transaction ${type}`, { label, nonce, tx: hash, reason }),
  })
  const [interpreters, detections] = await Promise.all([detectInterpreters(), detectEnvironments()])
  const environments = environmentsReport({ detections, interpreters, digest: environmentDigest })
  const store = await openJobStore(options.dataDir)
  const ledger = await openJobLedger({ dataDir: options.dataDir, chainId: deployment.chainId, market: deployment.market })
  const host = await createHost({
    ...options.host,
    keyFile: options.keyFile,
    listen: options.listen,
    bootstrap: options.bootstrap,
    // Which workers reach this gateway (sandrun dev waits for its own): peer ids only.
    onPeer: (change, peer) => log?.(`peer ${change}`, { peer }),
  })
  let backend: MarketBackend
  try {
    backend = await createMarketBackend(
      { ...defaultMarketBackendOptions, ...options.backend, confirmations },
      { market, deployment, host, store, ledger, environments, workerKey: key, clock, log },
    )
  } catch (error) {
    await host.stop()
    throw error
  }
  // GET/POST /verify read the chain through the same RPC the backend uses.
  const app = await buildGateway({ backend, options: { ...gateway, rpcUrl: gateway.rpcUrl ?? options.rpcUrl }, log })
  return {
    app,
    backend,
    host,
    deployment,
    address: account.address,
    async close() {
      await app.close()
      await backend.close()
      await host.stop()
    },
  }
}
