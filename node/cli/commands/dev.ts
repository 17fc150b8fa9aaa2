// `sandrun dev` (`npm start`): the whole open network on this machine (anvil, the market, a
// market-mode gateway and staked workers as separate processes), ready for `curl -F ...` against
// the usual REST API. Progress goes to stderr, one ready line to stdout; Ctrl-C stops everything.
// `sandrun dev fund <address|key file> [eth]` sends dev-chain ETH to a second operator's account.
import { parseArgs } from 'node:util'
import { isLoopbackHost } from '../../gateway/isLoopbackHost.ts'
import { startDevNetwork } from '../../dev/startDevNetwork.ts'
import { fundDevAccount } from '../../dev/fundDevAccount.ts'
import { assertPortFree } from '../assertPortFree.ts'

export const description = 'Run the whole network here: anvil, the market, a gateway and staked workers (npm start)'

/** Per-IP limits of a dev gateway that only this machine can reach: one person, many jobs. */
const loopbackLimits = { 'jobs-per-hour': '10000', 'concurrent-jobs': '16', 'cpu-seconds-per-minute': '600' } as const

const usage = `Usage: sandrun dev [options]
       sandrun dev fund <address|key file> [eth] [--data-dir <dir>]   (default 100 ETH)

  --workers <n>      worker processes (default 3)
  --data-dir <dir>   keys and state (default .sandrun/dev); keys are kept, state is reset per start
  --port <n>         gateway HTTP port (default 8443)
  --host <addr>      gateway HTTP address (default 127.0.0.1)
  --block-time <s>   mine a block every <s> seconds, as a real chain does (2 = an L2, 12 = Ethereum);
                     default a block per transaction
  --jobs-per-hour <n>, --concurrent-jobs <n>, --cpu-seconds-per-minute <n>
                     per-IP limits; on a loopback --host they default to ${loopbackLimits['jobs-per-hour']}, ${loopbackLimits['concurrent-jobs']} and
                     ${loopbackLimits['cpu-seconds-per-minute']} (only you can reach it), otherwise to the gateway's 20, 2 and 10
  --verbose          pass the nodes' JSON log lines through to stderr

Then, e.g.:
  echo 'print("hello")' > main.py && tar czf job.tar.gz main.py
  curl -F files=@job.tar.gz -F 'manifest={"entrypoint":"main.py"}' http://127.0.0.1:8443/submit
  curl 'http://127.0.0.1:8443/status/<job_id>?wait=30'
A second operator joins with the ready line's rpc= and p2p= (docs/network.md).
`

export async function run(argv: string[]): Promise<number> {
  if (argv[0] === 'fund') return fund(argv.slice(1))
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
      'block-time': { type: 'string' },
      'jobs-per-hour': { type: 'string' },
      'concurrent-jobs': { type: 'string' },
      'cpu-seconds-per-minute': { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  const workers = Number(values.workers ?? 3)
  const port = Number(values.port ?? 8443)
  const host = values.host ?? '127.0.0.1'
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > 16) throw new Error(`--workers must be 1-16, got "${values.workers}".`)
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got "${values.port}".`)
  const blockTime = values['block-time'] === undefined ? undefined : Number(values['block-time'])
  if (blockTime !== undefined && !(Number.isFinite(blockTime) && blockTime > 0 && blockTime <= 60)) {
    throw new Error(`--block-time must be seconds between blocks, more than 0 and at most 60, got "${values['block-time']}".`)
  }
  const started = performance.now()
  const say = (message: string): void => void process.stderr.write(`sandrun dev: [${((performance.now() - started) / 1000).toFixed(1)} s] ${message}\n`)
  // Before anvil and the deployment: a taken port must cost nothing but this line.
  await assertPortFree({ host, port })

  const relaxed = isLoopbackHost(host)
  const limits = Object.fromEntries(
    (['jobs-per-hour', 'concurrent-jobs', 'cpu-seconds-per-minute'] as const).flatMap((flag) => {
      const value = values[flag] ?? (relaxed ? loopbackLimits[flag] : undefined)
      return value === undefined ? [] : [[flag, value]]
    }),
  )
  let failed: () => void = () => undefined
  const nodeFailed = new Promise<void>((resolve) => (failed = resolve))
  const network = await startDevNetwork({
    workers,
    port,
    host,
    blockTime,
    dataDir: values['data-dir'] ?? '.sandrun/dev',
    gatewayArgs: Object.entries(limits).flatMap(([flag, value]) => [`--${flag}`, value]),
    onProgress: say,
    onLog: values.verbose ? (name, line) => void process.stderr.write(`[${name}] ${line}\n`) : undefined,
    onNodeExit: (name, code) => {
      say(`${name} exited (code ${code}); stopping the network`)
      failed()
    },
  })
  say(`chain     ${network.rpcUrl} (chain id ${network.deployment.chainId})`)
  say(`market    ${network.deployment.market} (deployment file ${network.deploymentFile})`)
  say(`gateway   ${network.gatewayUrl}  (web page ${network.gatewayUrl}/ui, API docs ${network.gatewayUrl}/docs, workers ${network.gatewayUrl}/pool)`)
  say(`p2p       ${network.gatewayMultiaddrs.join(' ')}  (workers join with --bootstrap <this>)`)
  const shown = (flag: keyof typeof loopbackLimits, fallback: string): string => limits[flag] ?? fallback
  say(
    `limits    per IP: ${shown('jobs-per-hour', '20')} jobs/hour, ${shown('concurrent-jobs', '2')} at once, ${shown('cpu-seconds-per-minute', '10')} CPU-s/min` +
      (relaxed ? ' (relaxed: the gateway listens on loopback only; --jobs-per-hour etc. to change)' : ' (the gateway\'s defaults: --host is not loopback)'),
  )
  for (const worker of network.workers) say(`${worker.name.padEnd(9)} ${worker.address} ${worker.peer}`)
  process.stdout.write(
    `sandrun dev ready url=${network.gatewayUrl} rpc=${network.rpcUrl} market=${network.deployment.market} workers=${network.workers.length} p2p=${network.gatewayMultiaddrs[0] ?? ''}\n`,
  )

  const signal = await Promise.race([
    new Promise<string>((resolve) => {
      process.once('SIGINT', () => resolve('SIGINT'))
      process.once('SIGTERM', () => resolve('SIGTERM'))
    }),
    nodeFailed.then(() => 'node exit'),
  ])
  say(`stopping (${signal})`)
  await network.stop()
  say('stopped')
  return signal === 'node exit' ? 1 : 0
}

async function fund(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } })
  const [target, amount = '100'] = positionals
  if (values.help || !target) {
    process.stdout.write(usage)
    return values.help ? 0 : 2
  }
  const funded = await fundDevAccount({ dataDir: values['data-dir'] ?? '.sandrun/dev', target, eth: amount })
  process.stdout.write(`sent ${amount} ETH to ${funded.address} on ${funded.rpcUrl} (tx ${funded.hash}); balance ${funded.balanceEth} ETH\n`)
  return 0
}
