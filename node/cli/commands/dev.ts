// `sandrun dev` (`npm start`): the whole open network on this machine (anvil, the market, a
// market-mode gateway and staked workers as separate processes), ready for `curl -F ...` against
// the usual REST API. Progress goes to stderr, one ready line to stdout; Ctrl-C stops everything.
import { parseArgs } from 'node:util'
import { startDevNetwork } from '../../dev/startDevNetwork.ts'

export const description = 'Run the whole network here: anvil, the market, a gateway and staked workers (npm start)'

const usage = `Usage: sandrun dev [options]

  --workers <n>      worker processes (default 3)
  --data-dir <dir>   keys and state (default .sandrun/dev); keys are kept, state is reset per start
  --port <n>         gateway HTTP port (default 8443)
  --host <addr>      gateway HTTP address (default 127.0.0.1)
  --verbose          pass the nodes' JSON log lines through to stderr

Then, e.g.:
  echo 'print("hello")' > main.py && tar czf job.tar.gz main.py
  curl -F files=@job.tar.gz -F 'manifest={"entrypoint":"main.py"}' http://127.0.0.1:8443/submit
  curl 'http://127.0.0.1:8443/status/<job_id>?wait=30'
`

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      workers: { type: 'string' },
      'data-dir': { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string' },
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
  if (!Number.isSafeInteger(workers) || workers < 1 || workers > 16) throw new Error(`--workers must be 1-16, got "${values.workers}".`)
  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0-65535, got "${values.port}".`)
  const say = (message: string): void => void process.stderr.write(`sandrun dev: ${message}\n`)

  let failed: () => void = () => undefined
  const nodeFailed = new Promise<void>((resolve) => (failed = resolve))
  const network = await startDevNetwork({
    workers,
    port,
    host: values.host ?? '127.0.0.1',
    dataDir: values['data-dir'] ?? '.sandrun/dev',
    onProgress: say,
    onLog: values.verbose ? (name, line) => void process.stderr.write(`[${name}] ${line}\n`) : undefined,
    onNodeExit: (name, code) => {
      say(`${name} exited (code ${code}); stopping the network`)
      failed()
    },
  })
  say(`chain     ${network.rpcUrl} (chain id ${network.deployment.chainId})`)
  say(`market    ${network.deployment.market} (deployment file ${network.deploymentFile})`)
  say(`gateway   ${network.gatewayUrl}  (API docs ${network.gatewayUrl}/docs, workers ${network.gatewayUrl}/pool)`)
  for (const worker of network.workers) say(`${worker.name.padEnd(9)} ${worker.address} ${worker.peer}`)
  process.stdout.write(`sandrun dev ready url=${network.gatewayUrl} rpc=${network.rpcUrl} market=${network.deployment.market} workers=${network.workers.length}\n`)

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
