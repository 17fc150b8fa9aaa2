// `sandrun serve`: the REST API in local mode — jobs run in this machine's sandbox.
import { parseArgs } from 'node:util'
import { definedFields, gatewayFlagOptions, gatewayOptionsFromFlags, numberFlag } from '../gatewayFlags.ts'
import { listenOptions, resolveLocalModeOptions } from '../../gateway/config.ts'
import { createLocalGateway } from '../../gateway/createLocalGateway.ts'
import { untilStopped } from '../untilStopped.ts'
import { assertPortFree } from '../assertPortFree.ts'
import { logUnhandledRejections } from '../logUnhandledRejections.ts'

export const description = 'Serve the Sandrun REST API on this machine (local mode)'

const usage = `Usage: sandrun serve [options]

Options:
  --port <n>                    port (default 8443)
  --host <addr>                 address to listen on (default 127.0.0.1)
  --data-dir <dir>              job data directory, must be tmpfs (default /dev/shm/sandrun)
  --allow-disk-storage          accept a data dir that is not tmpfs (job data then rests on disk
                                in clear: for development only)
  --key <file>                  worker key (from \`sandrun keygen\`); default: generated into the data dir
  --parallelism <n>             jobs run at once (default: number of cores)
  --trust-proxy <addrs>         comma-separated proxy addresses whose X-Forwarded-For is trusted
  --cpu-seconds-per-minute <n>  per-IP CPU quota (default 10)
  --concurrent-jobs <n>         per-IP concurrent jobs (default 2)
  --jobs-per-hour <n>           per-IP jobs per hour (default 20)
  --max-connections <n>         open connections at once (default: 3/4 of the file-descriptor limit, at most 10000)
  --max-connections-per-address <n>  per-IP (IPv6: per /64) open connections (default 64; not applied with --trust-proxy)
  --pip-index <dir>             wheelhouse (.whl files) that jobs' requirements.txt install from
  --npm-cache <dir>             npm cache that jobs' package.json dependencies install from
  --npm-registry <url>          registry the npm cache was filled from (default https://registry.npmjs.org/)
                                Without an index, jobs with such "requirements" are refused (400).
                                See docs/environments.md.
`


function log(message: string, context: Record<string, unknown>): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), message, ...context })}\n`)
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...gatewayFlagOptions,
      'data-dir': { type: 'string' },
      'allow-disk-storage': { type: 'boolean' },
      key: { type: 'string' },
      parallelism: { type: 'string' },
      'pip-index': { type: 'string' },
      'npm-cache': { type: 'string' },
      'npm-registry': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  const gateway = gatewayOptionsFromFlags(values)
  const local = resolveLocalModeOptions(
    definedFields({
      dataDir: values['data-dir'],
      allowDiskStorage: values['allow-disk-storage'],
      keyFile: values.key,
      parallelism: numberFlag(values.parallelism),
      pipIndex: values['pip-index'],
      npmCache: values['npm-cache'],
      npmRegistry: values['npm-registry'],
    }),
  )
  await assertPortFree({ host: gateway.host, port: gateway.port })
  logUnhandledRejections(log)
  const server = await createLocalGateway({ gateway, local, log })
  // Taken between the check and now: stop what was started, so the process exits with the error.
  const address = await server.app.listen(listenOptions(gateway)).catch(async (error: unknown) => {
    await server.close()
    throw error
  })
  log('sandrun gateway listening', { address, mode: 'local', workerId: server.workerKey.workerId, parallelism: local.parallelism })
  process.stdout.write(`sandrun gateway ready mode=local url=${address}\n`)
  await untilStopped()
  log('sandrun gateway stopping', {})
  await server.close()
  return 0
}
