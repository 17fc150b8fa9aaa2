// Pool mode wiring: the allowlist (workers.json), a libp2p host keyed by the gateway's node key,
// the worker registry (health, load), the exec protocol client, the pool backend and the REST
// gateway (the backend brings its GET /pool). Used by `sandrun gateway --mode pool` and the tests.
import type { FastifyInstance } from 'fastify'
import { detectEnvironments, environmentsReport, detectInterpreters } from '../../sandbox/index.ts'
import { environmentDigest } from '../../verifier/index.ts'
import { buildGateway } from './buildGateway.ts'
import type { GatewayOptions } from './config.ts'
import type { ErrorReport } from './errorHandler.ts'
import { createHost, type CreateHostParameters, type SandrunHost } from '../p2p/createHost.ts'
import { execService } from '../p2p/execService.ts'
import type { Clock } from '../clock/systemClock.ts'
import { createPoolBackend, defaultPoolBackendOptions, type PoolBackend, type PoolBackendOptions } from '../backends/pool/poolBackend.ts'
import { readWorkersFile } from '../backends/pool/readWorkersFile.ts'
import { createWorkerRegistry, defaultWorkerRegistryOptions, type WorkerRegistry, type WorkerRegistryOptions } from '../backends/pool/workerRegistry.ts'

export type PoolModeOptions = {
  workersFile: string
  /** The gateway's node key; without it one is kept in `<dataDir>/worker-key.json`. */
  keyFile?: string | undefined
  dataDir: string
  listen: string[]
  backend?: Partial<PoolBackendOptions> | undefined
  registry?: Partial<WorkerRegistryOptions> | undefined
  host?: Partial<CreateHostParameters> | undefined
}

export type CreatePoolGatewayParameters = {
  gateway: GatewayOptions
  pool: PoolModeOptions
  /** What retention counts on (tests let it pass); default the system clock. */
  clock?: Clock | undefined
  log?: ErrorReport | undefined
}

export type CreatePoolGatewayReturnType = {
  app: FastifyInstance
  backend: PoolBackend
  registry: WorkerRegistry
  host: SandrunHost
  close(): Promise<void>
}

export async function createPoolGateway({ gateway, pool: options, clock, log }: CreatePoolGatewayParameters): Promise<CreatePoolGatewayReturnType> {
  const workers = await readWorkersFile(options.workersFile)
  const [interpreters, detections] = await Promise.all([detectInterpreters(), detectEnvironments()])
  const environments = environmentsReport({ detections, interpreters, digest: environmentDigest })
  const host = await createHost({ ...options.host, keyFile: options.keyFile, dataDir: options.dataDir, listen: options.listen })
  const report = log ?? (() => undefined)
  const registry = createWorkerRegistry({ ...defaultWorkerRegistryOptions, ...options.registry }, { host, workers, log: report })
  const exec = execService({})(host.libp2p)
  const backend = createPoolBackend({ ...defaultPoolBackendOptions, ...options.backend }, { registry, exec, environments, workerKey: host.workerKey, clock, log: report })
  registry.start()
  let app: FastifyInstance
  try {
    app = await buildGateway({ backend, options: gateway, log })
  } catch (error) {
    registry.stop()
    await backend.close()
    await host.stop()
    throw error
  }
  return {
    app,
    backend,
    registry,
    host,
    async close() {
      await app.close()
      registry.stop()
      await backend.close()
      await host.stop()
    },
  }
}
