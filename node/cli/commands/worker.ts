// `sandrun worker`: joins a market deployment as a staked worker: takes announced jobs it can run,
// runs them in this machine's sandbox, commits and reveals results on chain, gets paid, and serves
// results and live logs to gateways. `--mode pool` instead serves one gateway's allowlisted pool.
// Log lines are JSON on stderr; one ready line goes to stdout.
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { createPublicClient, parseEther } from 'viem'
import { readDeployment } from '../../chain/deployment.ts'
import { faultModes, parseFaultMode } from '../../market/worker/faultMode.ts'
import { WorkerError } from '../../market/worker/workerError.ts'
import { jsonLineLog } from '../../market/worker/workerLog.ts'
import { logUnhandledRejections } from '../logUnhandledRejections.ts'
import { untilStopped } from '../untilStopped.ts'
import { warnWithoutPeers } from '../warnWithoutPeers.ts'
import { runWorkerAccountCommand, workerAccountUsage } from '../workerAccountCommands.ts'
import { chainTransport } from '../../chain/chainTransport.ts'
import { errorMessageOf, shortMessageOf } from '../../../errors/index.ts'

export const description = 'Run a staked market worker: take jobs, run them, commit and reveal results'

const usage = `Usage: sandrun worker --rpc <url> --deployment <file> --key <file> [options]
       sandrun worker --mode pool --key <file> --bootstrap <gateway multiaddr>   (see --mode pool --help)

  --rpc <url>             JSON-RPC URL of the market's chain
  --deployment <file>     deployment file written by \`sandrun deploy\`
  --key <file>            worker key (\`sandrun keygen\`): the libp2p identity, and the eth account
                          derived from it stakes and gets paid (fund that address first)
  --data-dir <dir>        commitment records (chain facts, kept across restarts) and results sealed
                          under keys held in memory only (unreadable after a restart, so removed)
                          (default ./sandrun-worker-data)
  --scratch-dir <dir>     tmpfs directory where output files wait between the sandbox and sealing
                          (default /dev/shm/sandrun-scratch-<id of the data dir>)
  --allow-disk-storage    accept a --scratch-dir that is not tmpfs (job outputs touch the disk in clear)
  --stake <eth>           stake to hold; topped up at start (default 10 x the minimum collateral)
  --listen <multiaddr>    libp2p listen address, repeatable (default /ip4/127.0.0.1/tcp/0)
  --announce <multiaddr>  address to advertise instead (public IP behind NAT), repeatable
  --bootstrap <multiaddr> peer to join through (a gateway's /p2p/ address), repeatable
  --max-jobs <n>          jobs run at once (default 2)
  --withdraw-at <eth>     withdraw earnings once they reach this much (default 0.05; 0 = after every
                          job); SIGUSR2 withdraws at once, and stopping the worker withdraws them all
  --min-profit-wei <wei>  take a job only when its reward per replica, minus the gas of its commit and
                          reveal at the current fee, leaves at least this much (default 0: any job
                          that pays its gas); GET /pool shows each worker's ask
  --confirmations <n>     blocks its commits and reveals are watched for reorgs, and sent again if one
                          drops them (default per chain, at least 3: 12 on Ethereum, 10 on OP Stack,
                          20 on Arbitrum, 12 elsewhere; docs/network.md, "Confirmations")
  --fault <mode>          misbehave for tests and demos: ${faultModes.join(' | ')}
                          (refused unless the chain id is 31337 or 1337)

Without --bootstrap the worker only finds peers on the LAN (mDNS); it says so when it has none.

${workerAccountUsage}`

function positiveInteger(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!Number.isSafeInteger(n) || n < 1) throw new WorkerError('CONFIG_INVALID', `--${name} must be a whole number >= 1, not "${value}".`)
  return n
}

function withdrawAtWei(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined
  try {
    const wei = parseEther(value)
    if (wei >= 0n) return wei
  } catch {
    // reported below
  }
  throw new WorkerError('CONFIG_INVALID', `--withdraw-at must be an amount of ETH like 0.05 (0 = after every job), not "${value}".`)
}

function stakeWei(value: string | undefined): bigint | undefined {
  if (value === undefined) return undefined
  try {
    const wei = parseEther(value)
    if (wei > 0n) return wei
  } catch {
    // reported below
  }
  throw new WorkerError('CONFIG_INVALID', `--stake must be a positive amount of ETH like 0.5, not "${value}".`)
}

const poolUsage = `Usage: sandrun worker --mode pool --key <file> --bootstrap <gateway multiaddr> [options]

  --key <file>            worker key (\`sandrun keygen\`); its worker_id must be in the gateway's workers.json
  --bootstrap <multiaddr> the gateway's address ending in /p2p/<peer id>, repeatable; only these
                          gateways may send jobs, and the worker keeps connected to them
  --listen <multiaddr>    libp2p listen address, repeatable (default /ip4/127.0.0.1/tcp/0)
  --announce <multiaddr>  address to advertise instead (public IP behind NAT), repeatable
  --max-jobs <n>          jobs run at once (default 2)
  --scratch-dir <dir>     tmpfs directory where output files wait until sent to the gateway
                          (default /dev/shm/sandrun-scratch-<id of the key file>)
  --allow-disk-storage    accept a --scratch-dir that is not tmpfs (job outputs touch the disk in clear)
`

async function runPool(argv: string[]): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        mode: { type: 'string' },
        key: { type: 'string' },
        listen: { type: 'string', multiple: true },
        announce: { type: 'string', multiple: true },
        bootstrap: { type: 'string', multiple: true },
        'max-jobs': { type: 'string' },
        'scratch-dir': { type: 'string' },
        'allow-disk-storage': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    process.stderr.write(`sandrun worker: ${errorMessageOf(error)}\n\n${poolUsage}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(poolUsage)
    return 0
  }
  if (!values.key || !values.bootstrap?.length) {
    process.stderr.write(`sandrun worker: pool mode needs --key and --bootstrap.\n\n${poolUsage}`)
    return 2
  }
  let maxJobs: number | undefined
  try {
    maxJobs = positiveInteger('max-jobs', values['max-jobs'])
  } catch (error) {
    process.stderr.write(`sandrun worker: ${shortMessageOf(error)}\n`)
    return 2
  }
  readFileSync(values.key)
  const log = jsonLineLog()
  logUnhandledRejections(log)
  const [{ createSandbox }, { startPoolWorker }] = await Promise.all([import('../../../sandbox/index.ts'), import('../../pool/startPoolWorker.ts')])
  const sandbox = await createSandbox()
  const node = await startPoolWorker({
    keyFile: values.key,
    bootstrap: values.bootstrap,
    listen: values.listen,
    announce: values.announce,
    maxJobs,
    scratchDir: values['scratch-dir'],
    allowDiskStorage: values['allow-disk-storage'],
    sandbox,
    log,
  }).catch(async (error: unknown) => {
    await sandbox.close()
    throw error
  })
  process.stdout.write(`sandrun worker ready mode=pool peer=${node.peerId} worker_id=${node.workerId} listen=${node.host.multiaddrs().join(',')}\n`)
  await untilStopped()
  log('worker stopping', {})
  await node.stop()
  await sandbox.close()
  return 0
}

/** `--mode pool` (or --mode=pool) anywhere in argv; `--mode market` is the default and is dropped. */
function splitMode(argv: string[]): { mode: string | undefined; rest: string[] } {
  const index = argv.findIndex((a) => a === '--mode' || a.startsWith('--mode='))
  if (index < 0) return { mode: undefined, rest: argv }
  const inline = argv[index]!.includes('=')
  const mode = inline ? argv[index]!.slice('--mode='.length) : argv[index + 1]
  return { mode, rest: argv.filter((_, i) => i !== index && (inline || i !== index + 1)) }
}

export async function run(argv: string[]): Promise<number> {
  const [action] = argv
  if (action === 'status' || action === 'unstake' || action === 'withdraw') return runWorkerAccountCommand(action, argv.slice(1))
  const { mode, rest } = splitMode(argv)
  if (mode === 'pool') return runPool(rest)
  if (mode !== undefined && mode !== 'market') {
    process.stderr.write(`sandrun worker: --mode must be market (the default) or pool, not "${mode}".\n\n${usage}`)
    return 2
  }
  return runMarket(rest)
}

async function runMarket(argv: string[]): Promise<number> {
  let values
  try {
    ;({ values } = parseArgs({
      args: argv,
      options: {
        rpc: { type: 'string' },
        deployment: { type: 'string' },
        key: { type: 'string' },
        'data-dir': { type: 'string' },
        'scratch-dir': { type: 'string' },
        'allow-disk-storage': { type: 'boolean' },
        stake: { type: 'string' },
        listen: { type: 'string', multiple: true },
        announce: { type: 'string', multiple: true },
        bootstrap: { type: 'string', multiple: true },
        'max-jobs': { type: 'string' },
        'withdraw-at': { type: 'string' },
        'min-profit-wei': { type: 'string' },
        confirmations: { type: 'string' },
        fault: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }))
  } catch (error) {
    process.stderr.write(`sandrun worker: ${errorMessageOf(error)}\n\n${usage}`)
    return 2
  }
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  if (!values.rpc || !values.deployment || !values.key) {
    process.stderr.write(`sandrun worker: --rpc, --deployment and --key are required.\n\n${usage}`)
    return 2
  }
  const log = jsonLineLog()
  logUnhandledRejections(log)
  let maxJobs: number | undefined
  let stake: bigint | undefined
  let withdrawAt: bigint | undefined
  let minProfitWei: bigint | undefined
  let confirmations: number | undefined
  try {
    maxJobs = positiveInteger('max-jobs', values['max-jobs'])
    stake = stakeWei(values.stake)
    withdrawAt = withdrawAtWei(values['withdraw-at'])
    const minProfit = values['min-profit-wei']
    if (minProfit !== undefined && !/^(0|[1-9][0-9]{0,77})$/.test(minProfit)) {
      throw new WorkerError('CONFIG_INVALID', `--min-profit-wei must be a whole number of wei (e.g. 100000000000000 for 0.0001 ETH), not "${minProfit}".`)
    }
    minProfitWei = minProfit === undefined ? undefined : BigInt(minProfit)
    confirmations = values.confirmations === undefined ? undefined : Number(values.confirmations)
    if (confirmations !== undefined && !(Number.isSafeInteger(confirmations) && confirmations >= 0 && /^\d+$/.test(values.confirmations!))) {
      throw new WorkerError('CONFIG_INVALID', `--confirmations must be a whole number of blocks >= 0, not "${values.confirmations}".`)
    }
    // Checked before anything starts, so a refused fault mode costs no sandbox or network set-up.
    if (values.fault !== undefined) {
      const chainId = await createPublicClient({ transport: chainTransport(values.rpc) }).getChainId()
      parseFaultMode({ value: values.fault, chainId })
    }
  } catch (error) {
    process.stderr.write(`sandrun worker: ${shortMessageOf(error)}\n`)
    return 2
  }
  // Fail early with a clear message if the key file is missing (createHost would say the same, later).
  readFileSync(values.key)
  const deployment = readDeployment({ file: values.deployment })
  // libp2p and the sandbox load only once the options are known to be good: a refusal stays instant.
  const [{ createSandbox }, { startWorkerNode }] = await Promise.all([import('../../../sandbox/index.ts'), import('../../market/worker/startWorkerNode.ts')])
  const sandbox = await createSandbox()
  const node = await startWorkerNode({
    rpcUrl: values.rpc,
    deployment,
    keyFile: values.key,
    dataDir: values['data-dir'] ?? 'sandrun-worker-data',
    scratchDir: values['scratch-dir'],
    allowDiskStorage: values['allow-disk-storage'],
    sandbox,
    stake,
    listen: values.listen,
    announce: values.announce,
    bootstrap: values.bootstrap,
    maxJobs,
    withdrawAtWei: withdrawAt,
    minProfitWei,
    confirmations,
    fault: values.fault,
    log,
    exit: (code) => process.exit(code),
  }).catch(async (error: unknown) => {
    await sandbox.close()
    throw error
  })
  process.stdout.write(`sandrun worker ready peer=${node.peerId} address=${node.address} listen=${node.host.multiaddrs().join(',')}\n`)
  // The operator's request to cash out now, whatever the threshold.
  process.on('SIGUSR2', () => void node.worker.withdrawNow().catch((error: unknown) => log('withdrawal failed', { reason: String(error) })))
  const stopWarning = warnWithoutPeers({ libp2p: node.host.libp2p, log })
  await untilStopped()
  stopWarning()
  log('worker stopping', {})
  await node.stop()
  await sandbox.close()
  return 0
}
