// `sandrun mcp`: the MCP server for AI assistants, over stdio (default, what desktop clients spawn)
// or Streamable HTTP with --http. It talks to a gateway through the same client as the CLI.
import { parseArgs } from 'node:util'
import { createSandrunClient, defaultGatewayUrl } from '../../client/sandrunClient.ts'
import { serveHttp } from '../../mcp/serveHttp.ts'
import { serveStdio } from '../../mcp/serveStdio.ts'
import { untilStopped } from '../untilStopped.ts'

export const description = 'MCP server (stdio, or Streamable HTTP with --http) so AI assistants can run code'

const defaultMcpPort = 8765

const usage = `Usage: sandrun mcp [options]

Options:
  --gateway <url>   gateway the tools use (default ${defaultGatewayUrl})
  --http            serve Streamable HTTP at http://<host>:<port>/mcp instead of stdio
  --port <n>        HTTP port (default ${defaultMcpPort})
  --host <addr>     HTTP address (default 127.0.0.1)
  --rpc <url>       chain RPC: verify_result checks a market result on chain once the gateway has
                    deleted the job (from the receipt download_output keeps)

Tools: execute_code, submit_job, get_job_status, get_logs, list_outputs, download_output,
verify_result. See docs/mcp.md for the config block of MCP clients.
`

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      gateway: { type: 'string' },
      http: { type: 'boolean' },
      port: { type: 'string' },
      host: { type: 'string' },
      rpc: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  if (values.help) {
    process.stdout.write(usage)
    return 0
  }
  const client = createSandrunClient({ baseUrl: values.gateway ?? defaultGatewayUrl })
  if (!values.http) {
    await serveStdio({ client, rpcUrl: values.rpc })
    return 0
  }
  const port = values.port === undefined ? defaultMcpPort : Number(values.port)
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`sandrun mcp: --port must be a port number (0-65535), got ${values.port}\n`)
    return 2
  }
  const served = await serveHttp({ client, host: values.host ?? '127.0.0.1', port, rpcUrl: values.rpc })
  process.stderr.write(`${JSON.stringify({ message: 'sandrun mcp listening', url: served.url, gateway: client.baseUrl })}\n`)
  await untilStopped()
  await served.close()
  return 0
}
