// The whole open network on one machine (`sandrun dev`, `npm start`): anvil, a market deployed with
// demo-sized windows, key files for a gateway and N workers (kept in the data dir), their derived
// accounts funded from anvil's dev accounts, then the gateway and the workers as separate
// processes joined over libp2p. stop() takes it all down in reverse order.
import { mkdir, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { createTestClient, parseEther, type Address } from 'viem'
import { generateWorkerKey, loadWorkerKey, saveWorkerKey } from '../../verifier/index.ts'
import { startAnvil } from '../chain/anvil.ts'
import { deployMarket } from '../chain/deployMarket.ts'
import { writeDeployment, type Deployment } from '../chain/deployment.ts'
import { devAccounts } from '../chain/devAccounts.ts'
import { defaultMarketParams } from '../chain/marketParams.ts'
import { ethAccountFromWorkerKey } from '../market/ethAccount.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadNodeKey } from '../p2p/index.ts'
import { freeLocalPort } from './freeLocalPort.ts'
import { spawnNode, type SpawnedNode } from './spawnNode.ts'
import { chainTransport } from '../chain/chainTransport.ts'

export type StartDevNetworkParameters = {
  workers: number
  dataDir: string
  port: number
  host: string
  /** Seconds between blocks (anvil interval mining, like a real chain); default a block per transaction. */
  blockTime?: number | undefined
  /** Extra `sandrun gateway` flags (benchmarks raise the per-IP limits). */
  gatewayArgs?: string[] | undefined
  /** Progress for the operator ("starting anvil", "worker 2 ready"). */
  onProgress?: ((message: string) => void) | undefined
  /** The nodes' JSON log lines, prefixed with their name. */
  onLog?: ((name: string, line: string) => void) | undefined
  /** How long each node may take to start (default spawnNode's 60 s); a bench with many workers on a busy machine needs more. */
  readyTimeoutMs?: number | undefined
  /** Called once if a node exits on its own after start-up (the network is then incomplete). */
  onNodeExit?: ((name: string, code: number | null) => void) | undefined
}

export type StartDevNetworkReturnType = {
  rpcUrl: string
  gatewayUrl: string
  deployment: Deployment
  deploymentFile: string
  gatewayPeer: string
  /** The gateway's libp2p addresses (with /p2p/<peer id>): what another worker passes to --bootstrap. */
  gatewayMultiaddrs: string[]
  workers: Array<{ name: string; peer: string; address: string }>
  stop(): Promise<void>
}

export const defaultDevNetworkOptions = {
  // Short enough that a job nobody takes fails within a minute, long enough for a cold sandbox.
  commitWindowSeconds: 30,
  revealWindowSeconds: 30,
  // Plenty for thousands of demo jobs; anvil's dev accounts hold 10000 ETH each.
  fundingEth: '1000',
} as const

/** Written into the data dir while the network runs: `sandrun dev fund` reads the RPC URL from it. */
export const devNetworkFile = 'run/network.json'

export async function startDevNetwork(parameters: StartDevNetworkParameters): Promise<StartDevNetworkReturnType> {
  const progress = parameters.onProgress ?? (() => undefined)
  const dataDir = path.resolve(parameters.dataDir)
  const keysDir = path.join(dataDir, 'keys')
  const runDir = path.join(dataDir, 'run')
  // Every start is a fresh chain: state from the previous one (job tables, commits) would refer
  // to a market that no longer exists. Keys stay, so peer ids and addresses stay the same.
  await rm(runDir, { recursive: true, force: true })
  await mkdir(keysDir, { recursive: true, mode: 0o700 })
  await mkdir(runDir, { recursive: true, mode: 0o700 })

  const stops: Array<() => Promise<void>> = []
  let stopping: Promise<void> | undefined
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      for (const step of [...stops].reverse()) await step().catch(() => undefined)
    })())

  try {
    progress(parameters.blockTime ? `starting anvil (a block every ${parameters.blockTime} s)` : 'starting anvil')
    const anvil = await startAnvil(parameters.blockTime ? { blockTime: parameters.blockTime } : {})
    stops.push(() => anvil.stop())
    const [funder] = devAccounts(1)
    progress(`deploying the market on ${anvil.rpcUrl}`)
    const deployment = await deployMarket({
      rpcUrl: anvil.rpcUrl,
      account: funder!,
      params: { ...defaultMarketParams, minCommitWindow: 5n, minRevealWindow: 5n },
    })
    const deploymentFile = path.join(runDir, 'deployment.json')
    writeDeployment(deploymentFile, deployment)

    const names = ['gateway', ...Array.from({ length: parameters.workers }, (_, i) => `worker-${i + 1}`)]
    const keyFiles = new Map<string, string>()
    // Balances are set, not sent: one dev account holds 10,000 ETH, less than 13 nodes' funding.
    const testClient = createTestClient({ mode: 'anvil', transport: chainTransport(anvil.rpcUrl) })
    progress(`funding ${names.length} accounts`)
    for (const name of names) {
      const keyFile = path.join(keysDir, `${name}.json`)
      const key = await loadWorkerKey(keyFile).catch(async () => {
        const fresh = generateWorkerKey()
        await saveWorkerKey(keyFile, fresh)
        return fresh
      })
      keyFiles.set(name, keyFile)
      const to: Address = ethAccountFromWorkerKey(key).address
      await testClient.setBalance({ address: to, value: parseEther(defaultDevNetworkOptions.fundingEth) })
    }

    const watchExit = (name: string, node: SpawnedNode): void => {
      void node.exited.then((code) => {
        if (!stopping) parameters.onNodeExit?.(name, code)
      })
    }
    const common = ['--rpc', anvil.rpcUrl, '--deployment', deploymentFile]
    // Every node's libp2p address is fixed up front (a free port, the peer id from its key), so the
    // workers start beside the gateway instead of after it: the gateway bootstraps from the workers
    // and they from it, and whichever listens last is dialled by the others as it starts.
    const p2p = new Map<string, { listen: string; address: string }>()
    for (const name of names) {
      const peer = peerIdFromPrivateKey((await loadNodeKey({ keyFile: keyFiles.get(name)! })).privateKey).toString()
      const listen = `/ip4/127.0.0.1/tcp/${await freeLocalPort()}`
      p2p.set(name, { listen, address: `${listen}/p2p/${peer}` })
    }
    const gatewayPeer = p2p.get('gateway')!.address.split('/p2p/')[1]!
    const bootstrap = [p2p.get('gateway')!.address]
    const reachedGateway = new Set<string>()
    // One node failing to start stops the others at once, rather than after their own start-up.
    const startFailed = new AbortController()
    let firstFailure: unknown
    const abortOthers = (error: unknown): never => {
      if (!startFailed.signal.aborted) firstFailure = error
      startFailed.abort()
      throw error
    }
    let workerReachedGateway: (() => void) | undefined
    progress(`starting the gateway on ${parameters.host}:${parameters.port} and ${parameters.workers} worker(s)`)
    const gatewayStart = spawnNode({
      command: 'gateway',
      ...(parameters.readyTimeoutMs ? { readyTimeoutMs: parameters.readyTimeoutMs } : {}),
      args: [
        '--mode', 'market', ...common,
        '--key', keyFiles.get('gateway')!,
        '--data-dir', path.join(runDir, 'gateway'),
        '--port', String(parameters.port),
        '--host', parameters.host,
        '--listen', p2p.get('gateway')!.listen,
        ...names.slice(1).flatMap((name) => ['--bootstrap', p2p.get(name)!.address]),
        '--commit-window', String(defaultDevNetworkOptions.commitWindowSeconds),
        '--reveal-window', String(defaultDevNetworkOptions.revealWindowSeconds),
        // A dev chain's RPC is no secret: /health shows it, so `sandrun run` prints a ready verify command.
        '--public-rpc', anvil.rpcUrl,
        ...(parameters.gatewayArgs ?? []),
      ],
      signal: startFailed.signal,
      onLog: (line) => {
        parameters.onLog?.('gateway', line)
        const peer = connectedPeer(line)
        if (peer) {
          reachedGateway.add(peer)
          workerReachedGateway?.()
        }
      },
    }).then((node) => {
      progress('gateway ready')
      return node
    }, abortOthers)
    let readyCount = 0
    const workerStarts = names.slice(1).map(async (name) => {
      const node = await spawnNode({
        command: 'worker',
        args: [...common, '--key', keyFiles.get(name)!, '--data-dir', path.join(runDir, name), '--listen', p2p.get(name)!.listen, ...bootstrap.flatMap((b) => ['--bootstrap', b])],
        onLog: (line) => parameters.onLog?.(name, line),
        signal: startFailed.signal,
        ...(parameters.readyTimeoutMs ? { readyTimeoutMs: parameters.readyTimeoutMs } : {}),
      }).catch(abortOthers)
      progress(`${name} ready (${++readyCount}/${parameters.workers})`)
      return { name, node }
    })
    // Every process that started is stopped with the network, also when another one failed.
    const started = await Promise.allSettled([gatewayStart, ...workerStarts])
    for (const result of started) {
      if (result.status !== 'fulfilled') continue
      const { name, node } = 'name' in result.value ? result.value : { name: 'gateway', node: result.value }
      stops.push(() => node.stop())
      watchExit(name, node)
    }
    if (startFailed.signal.aborted) throw firstFailure
    const gateway = await gatewayStart
    const workers = await Promise.all(workerStarts)
    // Ready means a job submitted now reaches every worker: each has connected to the gateway.
    const peers = workers.map(({ node }) => node.ready.peer ?? '')
    await new Promise<void>((resolve, reject) => {
      const connectMs = parameters.readyTimeoutMs ?? 60_000
      const timer = setTimeout(
        () => reject(new Error(`workers did not connect to the gateway within ${connectMs / 1000} s: ${workers.filter((_, i) => !reachedGateway.has(peers[i]!)).map((w) => w.name).join(', ')}`)),
        connectMs,
      )
      workerReachedGateway = () => {
        if (!peers.every((peer) => reachedGateway.has(peer))) return
        clearTimeout(timer)
        resolve()
      }
      workerReachedGateway()
    })
    const gatewayUrl = gateway.ready.url ?? `http://${parameters.host}:${parameters.port}`
    const gatewayAddresses = (gateway.ready.listen ?? '').split(',').filter(Boolean)
    await writeFile(path.join(dataDir, devNetworkFile), `${JSON.stringify({ rpc_url: anvil.rpcUrl, gateway_url: gatewayUrl, deployment_file: deploymentFile, p2p: gatewayAddresses }, null, 2)}\n`)
    return {
      rpcUrl: anvil.rpcUrl,
      gatewayUrl,
      deployment,
      deploymentFile,
      gatewayPeer: gateway.ready.peer ?? gatewayPeer,
      gatewayMultiaddrs: gatewayAddresses,
      workers: workers.map(({ name, node }) => ({ name, peer: node.ready.peer ?? '', address: node.ready.address ?? '' })),
      stop,
    }
  } catch (error) {
    await stop()
    throw error
  }
}

/** The peer id of a gateway log line `peer connected`, if it is one. */
function connectedPeer(line: string): string | undefined {
  if (!line.includes('"peer connected"')) return undefined
  try {
    const entry = JSON.parse(line) as { message?: string; peer?: string }
    return entry.message === 'peer connected' ? entry.peer : undefined
  } catch {
    return undefined
  }
}
