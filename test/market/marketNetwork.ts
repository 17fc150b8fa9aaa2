// A whole market network on this machine for the end-to-end tests: anvil, a market deployed with
// short window minimums, a market-mode gateway on a real port (in the test process, so tests can
// restart it and read its log), and `sandrun worker` processes with their own keys and data dirs,
// all talking libp2p over TCP on 127.0.0.1. Chain time is skipped with
// evm_increaseTime + evm_mine instead of sleeping through windows.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createWalletClient, http, parseEther, type Address } from 'viem'
import type { Sandbox } from '../../sandbox/sandbox.ts'
import { type GatewayJobId, gatewayJobId, generateWorkerKey, loadWorkerKey, saveWorkerKey, workerKeyFromSeed } from '../../verifier/index.ts'
import { startAnvil, type StartAnvilReturnType } from '../../node/chain/anvil.ts'
import { deployMarket } from '../../node/chain/deployMarket.ts'
import { writeDeployment, type Deployment } from '../../node/chain/deployment.ts'
import { devAccounts } from '../../node/chain/devAccounts.ts'
import { createMarketClient, type MarketClient } from '../../node/chain/marketClient.ts'
import { defaultMarketParams } from '../../node/chain/marketParams.ts'
import { ethAccountFromWorkerKey } from '../../node/market/ethAccount.ts'
import { startWorkerNode, type WorkerNode } from '../../node/market/worker/startWorkerNode.ts'
import { resolveGatewayOptions } from '../../node/gateway/config.ts'
import { createMarketGateway, type CreateMarketGatewayReturnType } from '../../node/gateway/createMarketGateway.ts'
import type { MarketBackendOptions } from '../../node/backends/market/marketBackendOptions.ts'
import type { StatusResponse } from '../../node/gateway/schemas.ts'
import type { JobStatus } from '../../node/backends/jobBackend.ts'
import { jobSubmission } from '../gateway/testGateway.ts'
import { spawnNode } from '../../node/dev/spawnNode.ts'
import { jobsTopic } from '../../node/p2p/deploymentTopics.ts'
import type { Clock } from '../../node/clock/systemClock.ts'
import { startChainClockPump } from './chainClockPump.ts'
import { sandrunBin } from '../runSandrunCli.ts'

// Commit and reveal windows of the test gateways: committees widen over the commit window and nobody
// commits in its first eighth, so a third worker that starts slowly on a loaded machine is still drawn.
export const windowSeconds = 60

export type MarketNetwork = {
  anvil: StartAnvilReturnType
  deployment: Deployment
  deploymentFile: string
  /** Reads and writes with anvil's first dev account. */
  chain: MarketClient
  dir: string
  /** A key file whose derived account holds 100 ETH (from `seed` when given, so the same every run). */
  fundedKey(name: string, seed?: Uint8Array): Promise<{ keyFile: string; address: Address }>
  startGateway(options?: GatewayStartOptions): Promise<TestGateway>
  /** A `sandrun worker` process with its own key and data dir (the same name = the same worker). */
  startWorker(options: WorkerStartOptions): Promise<WorkerProcess>
  /** A worker inside the test process, for tests that must reach into its code (a lying worker) or move its clock. */
  startInProcessWorker(options: { name: string; gateway: Bootstrap; clock?: Clock }): Promise<WorkerNode>
  /** A `sandrun gateway --mode market` process (the same name = the same key and data dir), for crash tests. */
  startGatewayProcess(options: { name: string; listen?: string[] }): Promise<GatewayProcess>
  /** Moves chain time forward (past commit and reveal windows) and mines a block. */
  skipTime(seconds: number): Promise<void>
  /** Mines a block at exactly `timestamp` (a repeatable chain keeps that time until set again). */
  setTime(timestamp: number): Promise<void>
  /** One of anvil's own RPC methods (anvil_reorg, evm_mine, anvil_setNextBlockBaseFeePerGas, …). */
  rpc(method: string, params?: unknown[]): Promise<void>
  /** How many times the clock pump (fastClock) moved chain time. */
  clockJumps(): number
  stop(): Promise<void>
}

export type GatewayStartOptions = {
  /** The same name = the same key (peer id) and data dir: a restarted gateway. */
  name?: string
  backend?: Partial<MarketBackendOptions>
  /** libp2p listen addresses; default an OS-chosen port on 127.0.0.1. */
  listen?: string[]
  /** Seed of the gateway key (a repeatable account and transactions). */
  keySeed?: Uint8Array
  /** What retention counts on; default the system clock. */
  clock?: Clock
  /** The chain as the gateway reaches it (e.g. through test/chain/faultyRpc.ts); default anvil's own URL. */
  rpcUrl?: string
}

export type WorkerStartOptions = {
  name: string
  /** The gateway the worker bootstraps to (only its addresses are used). */
  gateway: Bootstrap
  fault?: string
  /** The chain as the worker reaches it (from another network namespace); default anvil's own URL. */
  rpcUrl?: string
  /** libp2p listen addresses; default the worker's own (127.0.0.1). */
  listen?: string[]
  /** A network namespace (`ip netns`) to run the worker process in. */
  netns?: string
  /** Stake to hold (ETH, as `--stake` takes it). */
  stake?: string
  /** Seed of the worker key (a repeatable account and transactions). */
  keySeed?: Uint8Array
  /** The worker's JSON log lines (never job contents). */
  onLog?: (line: string) => void
  /** How long the process may take to print its ready line (default 3 minutes). */
  readyTimeoutMs?: number
  /** More `sandrun worker` options (e.g. --min-profit-wei). */
  args?: string[]
}

export type WorkerProcess = {
  name: string
  /** The worker's eth address, lowercase. */
  address: string
  peer: string
  /** Its libp2p addresses (with /p2p/<peer>). */
  listen: string[]
  /** Resolves with the exit code once the process is gone (crash-after-commit exits by itself). */
  exited: Promise<number | null>
  /** SIGTERM (graceful) or SIGKILL (a crash). */
  stop(how?: 'graceful' | 'crash'): Promise<void>
}

/** A gateway as a worker needs it: the libp2p addresses to bootstrap to. */
export type Bootstrap = { host: { multiaddrs(): string[] } }

export type GatewayProcess = {
  url: string
  dataDir: string
  /** `host.multiaddrs()`: the libp2p addresses from its ready line, for workers to bootstrap to. */
  host: { multiaddrs(): string[] }
  /** SIGTERM (graceful) or SIGKILL (a crash). */
  stop(how?: 'graceful' | 'crash'): Promise<void>
}

export type TestGateway = CreateMarketGatewayReturnType & {
  url: string
  log: Array<{ message: string; context: Record<string, unknown> }>
  submit(files: Record<string, string>, manifest: Record<string, unknown>): Promise<GatewayJobId>
  status(jobId: string): Promise<StatusResponse>
  /** Long-polls /status until the job is completed or failed. */
  waitFinal(jobId: string): Promise<StatusResponse>
  /** Resolves once the job's on-chain record (as the gateway follows it) satisfies `done`. */
  waitChain(jobId: GatewayJobId, done: (v: { committed: number; revealed: number }) => boolean): Promise<void>
  /** Resolves once the gateway's libp2p host has an open connection with `peer`. */
  waitConnected(peer: string): Promise<void>
  /** Resolves once `peer` is subscribed to the deployment's jobs topic, as the gateway sees it. */
  waitSubscribed(peer: string): Promise<void>
}

export type StartMarketNetworkParameters = {
  sandbox: Sandbox
  /**
   * A chain whose block hashes repeat from run to run: a fixed genesis time and a clock that moves
   * only when the test moves it (skipTime / setTime), so that, with fixed keys and transactions
   * sent in a fixed order, the same committees are drawn every time.
   */
  repeatable?: { genesisTimestamp: number }
  /** Seconds between blocks (anvil interval mining); default automine. */
  blockTime?: number
  /** anvil's `--state` file: stopped and started again with it, the chain carries on. */
  statePath?: string
  /**
   * Chain time jumps to what the workers wait for once none of them is running a job
   * (chainClockPump.ts): commit delays and eligibility waits cost no wall-clock time. Default on,
   * except on a repeatable chain or with a block time (the test owns the clock there).
   */
  fastClock?: boolean
}

export async function startMarketNetwork({
  sandbox,
  repeatable,
  blockTime,
  statePath,
  fastClock = !repeatable && !blockTime,
}: StartMarketNetworkParameters): Promise<MarketNetwork> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sandrun-market-e2e-'))
  // The workers' scratch dirs (tmpfs), removed with the network even after a SIGKILL.
  const shm = await mkdtemp('/dev/shm/sandrun-market-e2e-')
  const anvil = await startAnvil({
    ...(repeatable ? { timestamp: repeatable.genesisTimestamp } : {}),
    ...(blockTime ? { blockTime } : {}),
    ...(statePath ? { statePath } : {}),
  })
  const rpc = async (method: string, params: unknown[]): Promise<void> => {
    const response = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    const body = (await response.json()) as { error?: { message: string } }
    if (body.error) throw new Error(`${method}: ${body.error.message}`)
  }
  // Every block keeps the time of the one before until the test sets another.
  if (repeatable) await rpc('anvil_setBlockTimestampInterval', [0])
  const [funder] = devAccounts(1)
  const deployment = await deployMarket({
    rpcUrl: anvil.rpcUrl,
    account: funder!,
    params: { ...defaultMarketParams, minCommitWindow: 1n, minRevealWindow: 1n },
  })
  const deploymentFile = path.join(dir, 'deployment.json')
  writeDeployment(deploymentFile, deployment)
  const chain = createMarketClient({ rpcUrl: anvil.rpcUrl, address: deployment.market, account: funder! })
  const wallet = createWalletClient({ account: funder!, transport: http(anvil.rpcUrl) })
  const stops: Array<() => Promise<void>> = []
  const gateways: TestGateway[] = []
  const pump = fastClock
    ? startChainClockPump({
        now: async () => Number((await chain.publicClient.getBlock()).timestamp) + 1,
        jumpTo: async (timestamp) => {
          await rpc('evm_setNextBlockTimestamp', [timestamp])
          await rpc('evm_mine', [])
        },
      })
    : undefined
  const observe = (worker: string, line: string): void => {
    if (!pump) return
    try {
      const { message, ...context } = JSON.parse(line) as { message: string } & Record<string, unknown>
      pump.observe(worker, message, context)
    } catch {
      // not a log line
    }
  }

  if (repeatable) await rpc('anvil_setBlockTimestampInterval', [0])

  // One funder, one nonce sequence: fundings go out one at a time.
  let funding: Promise<unknown> = Promise.resolve()
  async function fundedKey(name: string, seed?: Uint8Array): Promise<{ keyFile: string; address: Address }> {
    const turn = funding.then(() => fundKey(name, seed))
    funding = turn.catch(() => undefined)
    return turn
  }

  async function fundKey(name: string, seed?: Uint8Array): Promise<{ keyFile: string; address: Address }> {
    const keyFile = path.join(dir, `${name}.key.json`)
    const key = await loadWorkerKey(keyFile).catch(async () => {
      const fresh = seed ? workerKeyFromSeed(seed) : generateWorkerKey()
      await saveWorkerKey(keyFile, fresh)
      const address = ethAccountFromWorkerKey(fresh).address
      const hash = await wallet.sendTransaction({ to: address, value: parseEther('100'), chain: null })
      await chain.publicClient.waitForTransactionReceipt({ hash })
      return fresh
    })
    return { keyFile, address: ethAccountFromWorkerKey(key).address }
  }

  async function startGateway({
    name = 'gateway',
    backend = {},
    listen = ['/ip4/127.0.0.1/tcp/0'],
    keySeed,
    clock,
    rpcUrl = anvil.rpcUrl,
  }: GatewayStartOptions = {}): Promise<TestGateway> {
    const { keyFile } = await fundedKey(name, keySeed)
    const log: TestGateway['log'] = []
    const server = await createMarketGateway({
      gateway: resolveGatewayOptions({ port: 0, rateLimits: { concurrentJobs: 50, jobsPerHour: 10_000, cpuSecondsPerMinute: 1000 } }),
      market: {
        rpcUrl,
        deploymentFile,
        keyFile,
        dataDir: path.join(dir, `${name}-data`),
        listen,
        bootstrap: [],
        // Every peer here is 127.0.0.1: lift the per-IP limits that protect a public gateway.
        host: { inboundConnectionsPerSecondPerHost: 1000, gossipScoreParams: { IPColocationFactorWeight: 0 } },
        backend: { commitWindowSeconds: windowSeconds, revealWindowSeconds: windowSeconds, pollIntervalMs: 150, announceIntervalMs: 1000, ...backend },
      },
      clock,
      log: (message, context) => log.push({ message, context }),
    })
    const url = await server.app.listen({ port: 0, host: '127.0.0.1' })
    const status = async (jobId: string, wait = 0): Promise<StatusResponse> => {
      const response = await fetch(`${url}/status/${jobId}${wait ? `?wait=${wait}` : ''}`)
      if (response.status !== 200) throw new Error(`GET /status answered ${response.status}: ${await response.text()}`)
      return (await response.json()) as StatusResponse
    }
    const gateway: TestGateway = {
      ...server,
      url,
      log,
      async submit(files, manifest) {
        const { body, contentType } = await jobSubmission(files, manifest)
        const response = await fetch(`${url}/submit`, { method: 'POST', headers: { 'content-type': contentType }, body })
        const answer = (await response.json()) as { job_id?: string }
        if (response.status !== 200 || !answer.job_id) throw new Error(`POST /submit answered ${response.status}: ${JSON.stringify(answer)}`)
        return gatewayJobId(answer.job_id)
      },
      status: (jobId) => status(jobId),
      async waitFinal(jobId) {
        for (;;) {
          const current = await status(jobId, 30)
          if (current.status === 'completed' || current.status === 'failed') return current
        }
      },
      waitChain: (jobId, done) =>
        new Promise<void>((resolve) => {
          const check = (status: JobStatus): boolean => {
            if (!status.verification || !done(status.verification)) return false
            resolve()
            return true
          }
          const watch = server.backend.watch(jobId, (event) => {
            if (event.type === 'status' && check(event.status)) watch.unsubscribe()
          })
          if (check(watch.status)) watch.unsubscribe()
        }),
      waitConnected: (peer) =>
        new Promise<void>((resolve) => {
          const libp2p = server.host.libp2p
          const check = (): void => {
            if (!libp2p.getConnections().some((c) => c.remotePeer.toString() === peer && c.status === 'open')) return
            libp2p.removeEventListener('connection:open', check)
            resolve()
          }
          libp2p.addEventListener('connection:open', check)
          check()
        }),
      waitSubscribed: (peer) =>
        new Promise<void>((resolve) => {
          const pubsub = server.host.libp2p.services.pubsub
          const topic = jobsTopic({ chainId: deployment.chainId, market: deployment.market })
          const check = (): void => {
            if (!pubsub.getSubscribers(topic).some((id) => id.toString() === peer)) return
            pubsub.removeEventListener('subscription-change', check)
            resolve()
          }
          pubsub.addEventListener('subscription-change', check)
          check()
        }),
      async close() {
        await server.close()
        gateways.splice(gateways.indexOf(gateway), 1)
      },
    }
    gateways.push(gateway)
    return gateway
  }

  async function startWorker({
    name,
    gateway,
    fault,
    rpcUrl = anvil.rpcUrl,
    listen = [],
    netns,
    stake,
    keySeed,
    onLog,
    readyTimeoutMs,
    args = [],
  }: WorkerStartOptions): Promise<WorkerProcess> {
    const { keyFile } = await fundedKey(name, keySeed)
    const node = await spawnNode({
      cli: sandrunBin,
      // nsenter switches only the network namespace; `ip netns exec` would also remount /sys and hide the cgroups the sandbox needs.
      ...(netns ? { launcher: ['nsenter', `--net=/run/netns/${netns}`, '--'] } : {}),
      command: 'worker',
      // A sandbox and a libp2p host per process: on a loaded 2-core machine start-up takes minutes.
      readyTimeoutMs: readyTimeoutMs ?? 180_000,
      args: [
        '--rpc',
        rpcUrl,
        '--deployment',
        deploymentFile,
        '--key',
        keyFile,
        '--data-dir',
        path.join(dir, `${name}-data`),
        '--scratch-dir',
        path.join(shm, name),
        ...gateway.host.multiaddrs().flatMap((a) => ['--bootstrap', a]),
        ...listen.flatMap((a) => ['--listen', a]),
        ...(fault ? ['--fault', fault] : []),
        ...(stake ? ['--stake', stake] : []),
        ...args,
      ],
      onLog: (line: string) => {
        onLog?.(line)
        observe(name, line)
        // SANDRUN_TEST_WORKER_LOG=1 shows the workers' JSON log lines (never job contents).
        if (process.env.SANDRUN_TEST_WORKER_LOG) process.stderr.write(`[${name}] ${line}\n`)
      },
    })
    const worker: WorkerProcess = {
      name,
      address: (node.ready.address ?? '').toLowerCase(),
      peer: node.ready.peer ?? '',
      listen: (node.ready.listen ?? '').split(',').filter(Boolean),
      exited: node.exited,
      stop: async (how = 'graceful') => {
        pump?.forget(name)
        if (how === 'crash') node.child.kill('SIGKILL')
        await node.stop()
      },
    }
    stops.push(() => worker.stop())
    return worker
  }

  async function startInProcessWorker({ name, gateway, clock }: { name: string; gateway: Bootstrap; clock?: Clock }): Promise<WorkerNode> {
    const { keyFile } = await fundedKey(name)
    const node = await startWorkerNode({
      rpcUrl: anvil.rpcUrl,
      deployment,
      keyFile,
      dataDir: path.join(dir, `${name}-data`),
      scratchDir: path.join(shm, name),
      sandbox,
      bootstrap: gateway.host.multiaddrs(),
      pollMs: 100,
      heartbeatMs: 500,
      clock,
      host: { gossipScoreParams: { IPColocationFactorWeight: 0 } },
      ...(pump ? { log: (message: string, context: Record<string, unknown> = {}) => pump.observe(name, message, context) } : {}),
    })
    const stop = node.stop.bind(node)
    node.stop = async () => {
      pump?.forget(name)
      await stop()
    }
    stops.push(() => node.stop())
    return node
  }

  async function startGatewayProcess({ name, listen = ['/ip4/127.0.0.1/tcp/0'] }: { name: string; listen?: string[] }): Promise<GatewayProcess> {
    const { keyFile } = await fundedKey(name)
    const dataDir = path.join(dir, `${name}-data`)
    const node = await spawnNode({
      cli: sandrunBin,
      command: 'gateway',
      args: [
        '--mode',
        'market',
        '--rpc',
        anvil.rpcUrl,
        '--deployment',
        deploymentFile,
        '--key',
        keyFile,
        '--data-dir',
        dataDir,
        '--port',
        '0',
        '--commit-window',
        String(windowSeconds),
        '--reveal-window',
        String(windowSeconds),
        '--concurrent-jobs',
        '50',
        '--jobs-per-hour',
        '10000',
        '--cpu-seconds-per-minute',
        '1000',
        ...listen.flatMap((a) => ['--listen', a]),
      ],
    })
    const multiaddrs = (node.ready.listen ?? '').split(',').filter(Boolean)
    const gateway: GatewayProcess = {
      url: node.ready.url ?? '',
      dataDir,
      host: { multiaddrs: () => multiaddrs },
      stop: async (how = 'graceful') => {
        if (how === 'crash') node.child.kill('SIGKILL')
        await node.stop()
      },
    }
    stops.push(() => gateway.stop())
    return gateway
  }

  return {
    anvil,
    deployment,
    deploymentFile,
    chain,
    dir,
    fundedKey,
    startGateway,
    startWorker,
    startInProcessWorker,
    startGatewayProcess,
    rpc: (method, params = []) => rpc(method, params),
    async skipTime(seconds) {
      await rpc('evm_increaseTime', [seconds])
      await rpc('evm_mine', [])
    },
    async setTime(timestamp) {
      await rpc('evm_setNextBlockTimestamp', [timestamp])
      await rpc('evm_mine', [])
    },
    clockJumps: () => pump?.jumps() ?? 0,
    async stop() {
      pump?.stop()
      await Promise.all(stops.map((stop) => stop().catch(() => undefined)))
      await Promise.all([...gateways].map((g) => g.close().catch(() => undefined)))
      await anvil.stop()
      await rm(dir, { recursive: true, force: true })
      await rm(shm, { recursive: true, force: true })
    },
  }
}
