// `sandrun gateway`: the REST API in front of a backend. `--mode local` is `sandrun serve` (jobs
// run here); `--mode pool` sends jobs to the allowlisted workers of workers.json over libp2p;
// `--mode market` posts jobs to the market contract, serves them to the workers of the open
// network over libp2p and returns results checked against the chain.
import { parseArgs } from 'node:util'
import { definedFields, gatewayFlagOptions, gatewayOptionsFromFlags } from '../gatewayFlags.ts'
import { type GatewayOptions, listenOptions } from '../../gateway/config.ts'
import { createMarketGateway } from '../../gateway/createMarketGateway.ts'
import { createPoolGateway } from '../../gateway/createPoolGateway.ts'
import { run as serve } from './serve.ts'
import { untilStopped } from '../untilStopped.ts'
import { logUnhandledRejections } from '../logUnhandledRejections.ts'
import { assertPortFree } from '../assertPortFree.ts'

export const description = 'Serve the REST API in local mode, in front of a worker pool (--mode pool) or the open market (--mode market)'

const usage = `Usage: sandrun gateway --mode market --rpc <url> --deployment <file> --key <file> [options]
       sandrun gateway --mode pool --workers <workers.json> [options]
       sandrun gateway --mode local [serve options]     (same as \`sandrun serve\`)

Pool mode options:
  --workers <file>              the allowlist: [{"worker_id": "<base64 key>", "max_concurrent_jobs": 2,
                                "endpoint": "<multiaddr, optional>"}]; other peers are refused
  --key <file>                  node key (default: kept in --data-dir); workers --bootstrap to its peer id
  --data-dir <dir>              where the node key is kept (default .sandrun/gateway)
  --port, --host, --listen, --trust-proxy and the per-IP limits as in market mode

Market mode options:
  --rpc <url>                   JSON-RPC endpoint of the chain the market is deployed on
  --deployment <file>           deployment file written by \`sandrun deploy\`
  --key <file>                  node key (\`sandrun keygen\`); its derived eth account posts jobs and
                                pays the rewards, so fund it
  --data-dir <dir>              bundles, specs and verified results sealed under keys held in memory
                                only (a restart cannot read them, and removes them), and the ledger
                                of posted jobs not yet settled (default .sandrun/gateway)
  --port <n>                    HTTP port (default 8443)
  --host <addr>                 HTTP address (default 127.0.0.1)
  --listen <multiaddr>          libp2p listen address, repeatable (default /ip4/127.0.0.1/tcp/0)
  --bootstrap <multiaddr>       peer to join the network through, repeatable
  --replicas <n>                replicas of a job whose manifest does not say (default 3)
  --reward-wei <n>              reward per replica when the manifest has no reward_wei (default 1e15)
  --commit-window <s>           seconds workers have to commit (default 120, within the deployment's limits);
                                nobody may commit in its first eighth (honest workers run the job then)
  --reveal-window <s>           seconds workers have to reveal (default 60)
  --confirmations <n>           blocks a settlement must be deep before a job is completed (default per
                                chain: 0 on a dev chain, 12 on Ethereum, 10 on OP Stack, 20 on Arbitrum,
                                12 elsewhere; docs/network.md, "Confirmations")
  --public-rpc <url>            an RPC URL of the chain to show in GET /health, so clients can verify
                                results themselves (default: none; the --rpc URL may hold a key)
  --trust-proxy <addrs>         comma-separated proxy addresses whose X-Forwarded-For is trusted
  --cpu-seconds-per-minute <n>  per-IP CPU quota (default 10)
  --concurrent-jobs <n>         per-IP concurrent jobs (default 2)
  --jobs-per-hour <n>           per-IP jobs per hour (default 20); these protect the gateway's wallet
  --max-connections <n>         open connections at once (default: 3/4 of the file-descriptor limit, at most 10000)
  --max-connections-per-address <n>  per-IP (IPv6: per /64) open connections (default 64; not applied with --trust-proxy)

Log lines are JSON on stderr; one ready line goes to stdout:
  sandrun gateway ready url=<http url> peer=<peer id> account=<eth address> listen=<multiaddrs>
`


function log(message: string, context: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message, ...context })}\n`)
}

export async function run(argv: string[]): Promise<number> {
  const modeIndex = argv.findIndex((a) => a === '--mode' || a.startsWith('--mode='))
  const mode = modeIndex < 0 ? undefined : argv[modeIndex]!.includes('=') ? argv[modeIndex]!.split('=')[1] : argv[modeIndex + 1]
  if (mode === 'local') return serve(argv.filter((_, i) => i !== modeIndex && !(i === modeIndex + 1 && !argv[modeIndex]!.includes('='))))
  const { values } = parseArgs({
    args: argv,
    options: {
      mode: { type: 'string' },
      rpc: { type: 'string' },
      deployment: { type: 'string' },
      key: { type: 'string' },
      'data-dir': { type: 'string' },
      ...gatewayFlagOptions,
      listen: { type: 'string', multiple: true },
      bootstrap: { type: 'string', multiple: true },
      replicas: { type: 'string' },
      'reward-wei': { type: 'string' },
      'commit-window': { type: 'string' },
      'reveal-window': { type: 'string' },
      'public-rpc': { type: 'string' },
      confirmations: { type: 'string' },
      workers: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  if (values.mode !== 'market' && values.mode !== 'pool') {
    process.stderr.write(`sandrun gateway: --mode must be local, pool or market.\n\n${usage}`)
    return 2
  }
  if (values.mode === 'pool' && values.workers === undefined) {
    process.stderr.write(`sandrun gateway: pool mode needs --workers <workers.json>.\n\n${usage}`)
    return 2
  }
  const missing = values.mode === 'pool' ? [] : (['rpc', 'deployment', 'key'] as const).filter((name) => values[name] === undefined)
  if (missing.length > 0) {
    process.stderr.write(`sandrun gateway: market mode needs ${missing.map((m) => `--${m}`).join(', ')}.\n\n${usage}`)
    return 2
  }
  const gateway = gatewayOptionsFromFlags(values)
  await assertPortFree({ host: gateway.host, port: gateway.port })
  if (values.mode === 'pool') return runPool({ gateway, workersFile: values.workers!, keyFile: values.key, dataDir: values['data-dir'] ?? '.sandrun/gateway', listen: values.listen ?? ['/ip4/127.0.0.1/tcp/0'] })
  const positive = (value: string | undefined, name: string): number | undefined => {
    if (value === undefined) return undefined
    const n = Number(value)
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a whole number >= 1, got "${value}".`)
    return n
  }
  const confirmations = values.confirmations === undefined ? undefined : Number(values.confirmations)
  if (confirmations !== undefined && !(Number.isSafeInteger(confirmations) && confirmations >= 0)) {
    throw new Error(`--confirmations must be a whole number of blocks >= 0, got "${values.confirmations}".`)
  }
  const rewardWei = values['reward-wei']
  if (rewardWei !== undefined && !/^[1-9][0-9]*$/.test(rewardWei)) throw new Error(`--reward-wei must be a positive integer (wei), got "${rewardWei}".`)
  logUnhandledRejections(log)
  const server = await createMarketGateway({
    gateway,
    market: {
      rpcUrl: values.rpc!,
      deploymentFile: values.deployment!,
      keyFile: values.key!,
      dataDir: values['data-dir'] ?? '.sandrun/gateway',
      listen: values.listen ?? ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: values.bootstrap ?? [],
      backend: definedFields({
        defaultReplicas: positive(values.replicas, 'replicas'),
        rewardWei: rewardWei === undefined ? undefined : BigInt(rewardWei),
        commitWindowSeconds: positive(values['commit-window'], 'commit-window'),
        revealWindowSeconds: positive(values['reveal-window'], 'reveal-window'),
        publicRpcUrl: values['public-rpc'],
        confirmations,
      }),
    },
    log,
  })
  const address = await server.app.listen(listenOptions(gateway)).catch(async (error: unknown) => {
    await server.close()
    throw error
  })
  log('sandrun gateway listening', {
    address,
    mode: 'market',
    chainId: server.deployment.chainId,
    market: server.deployment.market,
    account: server.address,
    peerId: server.host.peerId,
    multiaddrs: server.host.multiaddrs(),
  })
  process.stdout.write(`sandrun gateway ready url=${address} peer=${server.host.peerId} account=${server.address} listen=${server.host.multiaddrs().join(',')}\n`)
  await untilStopped()
  log('sandrun gateway stopping', {})
  await server.close()
  return 0
}

async function runPool({ gateway, ...pool }: { gateway: GatewayOptions; workersFile: string; keyFile: string | undefined; dataDir: string; listen: string[] }): Promise<number> {
  logUnhandledRejections(log)
  const server = await createPoolGateway({ gateway, pool, log })
  const address = await server.app.listen(listenOptions(gateway)).catch(async (error: unknown) => {
    await server.close()
    throw error
  })
  const workers = server.registry.members().length
  log('sandrun gateway listening', { address, mode: 'pool', workers, peerId: server.host.peerId, multiaddrs: server.host.multiaddrs() })
  process.stdout.write(`sandrun gateway ready mode=pool url=${address} peer=${server.host.peerId} workers=${workers} listen=${server.host.multiaddrs().join(',')}\n`)
  await untilStopped()
  log('sandrun gateway stopping', {})
  await server.close()
  return 0
}
