// Local mode wiring: this host's sandbox, tmpfs job storage, the worker key, the local backend and
// the REST gateway over it. Used by `sandrun serve`, the tests and the API benchmark.
import path from 'node:path'
import type { FastifyInstance } from 'fastify'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { generateWorkerKey, loadWorkerKey, saveWorkerKey, type WorkerKey } from '../../verifier/index.ts'
import type { JobBackend } from '../backends/jobBackend.ts'
import { createLocalBackend } from '../backends/local/localBackend.ts'
import { openStorage } from '../storage/openStorage.ts'
import type { Clock } from '../clock/systemClock.ts'
import { buildGateway } from './buildGateway.ts'
import type { GatewayOptions, LocalModeOptions } from './config.ts'
import type { ErrorReport } from './errorHandler.ts'

export type CreateLocalGatewayParameters = {
  gateway: GatewayOptions
  local: LocalModeOptions
  /**
   * A sandbox to share (tests); by default one is created with the local options' package indexes
   * and closed with the gateway.
   */
  sandbox?: Sandbox | undefined
  /** What retention counts on (tests let it pass); default the system clock. */
  clock?: Clock | undefined
  log?: ErrorReport | undefined
}

export type CreateLocalGatewayReturnType = {
  app: FastifyInstance
  backend: JobBackend
  workerKey: WorkerKey
  /** Stops the server, deletes all job data, and closes the sandbox if this created it. */
  close(): Promise<void>
}

/** The key from --key, else the one kept in the data dir, else a new one saved there. */
async function workerKeyFor(local: LocalModeOptions): Promise<WorkerKey> {
  if (local.keyFile) return loadWorkerKey(local.keyFile)
  const file = path.join(local.dataDir, 'worker-key.json')
  try {
    return await loadWorkerKey(file)
  } catch {
    const key = generateWorkerKey()
    await saveWorkerKey(file, key, { overwrite: true })
    return key
  }
}

export async function createLocalGateway({ gateway, local, sandbox: shared, clock, log }: CreateLocalGatewayParameters): Promise<CreateLocalGatewayReturnType> {
  const storage = await openStorage({ root: local.dataDir, requireTmpfs: !local.allowDiskStorage })
  const workerKey = await workerKeyFor(local)
  const sandbox =
    shared ??
    (await createSandbox({
      requirements: { pipIndex: local.pipIndex ?? undefined, npmIndex: local.npmCache ?? undefined, npmRegistry: local.npmRegistry ?? undefined },
    }))
  const backend = createLocalBackend(
    {
      parallelism: local.parallelism,
      maxQueuedJobs: local.maxQueuedJobs,
      retentionMaxMs: local.retentionMaxMs,
      retentionAfterFailureMs: local.retentionAfterFailureMs,
      maxRetainedBytesPerClient: local.maxRetainedBytesPerClient,
    },
    { sandbox, storage, workerKey, clock, log },
  )
  const app = await buildGateway({ backend, options: gateway, log })
  return {
    app,
    backend,
    workerKey,
    async close() {
      await app.close()
      await backend.close()
      if (!shared) await sandbox.close()
    },
  }
}
