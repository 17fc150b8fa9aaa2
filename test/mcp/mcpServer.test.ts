// The MCP server as an assistant uses it: the SDK's client spawns `sandrun mcp` over stdio (and
// over Streamable HTTP with --http) against a real local gateway with the real sandbox.
import { spawn, type ChildProcess } from 'node:child_process'
import type { AddressInfo } from 'node:net'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway } from '../gateway/testGateway.ts'
import { sandrunBin as bin } from '../runSandrunCli.ts'


let gateway: Awaited<ReturnType<typeof startTestGateway>>
let gatewayUrl: string
let client: Client

beforeAll(async () => {
  gateway = await startTestGateway()
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  gatewayUrl = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
  client = new Client({ name: 'sandrun-test', version: '1.0.0' })
  await client.connect(new StdioClientTransport({ command: process.execPath, args: [bin, 'mcp', '--gateway', gatewayUrl], stderr: 'pipe' }))
})
afterAll(async () => {
  await client?.close()
  await gateway?.close()
})

async function call(name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult
}

function textOf(result: CallToolResult): string {
  return result.content
    .filter((c) => c.type === 'text')
    .map((c) => c.text)
    .join('\n')
}

describe('sandrun mcp over stdio', () => {
  it('lists the seven tools with their input schemas', async () => {
    const { tools } = await client.listTools()
    expect(tools.map((t) => t.name).sort()).toEqual(['download_output', 'execute_code', 'get_job_status', 'get_logs', 'list_outputs', 'submit_job', 'verify_result'])
    const execute = tools.find((t) => t.name === 'execute_code')!
    expect(execute.inputSchema.required).toEqual(['language', 'code'])
    expect(Object.keys(execute.inputSchema.properties ?? {})).toEqual(expect.arrayContaining(['files', 'args', 'timeout']))
  })

  it('execute_code runs python with files and args, returning stdout, stderr, exit code and outputs', async () => {
    const result = await call('execute_code', {
      language: 'python',
      code: 'import sys\nrows = open("data/in.csv").read().split()\nprint("rows", len(rows), sys.argv[1:])\nprint("careful", file=sys.stderr)\nopen("sum.txt", "w").write("42")\nopen("blob.bin", "wb").write(bytes(range(256)))\n',
      files: { 'data/in.csv': 'a,b\n1,2\n3,4\n' },
      args: ['--fast'],
      timeout: 30,
    })
    expect(result.isError).toBeFalsy()
    const text = textOf(result)
    expect(text).toMatch(/: completed\nexit code 0 \(exited\)/)
    expect(text).toContain("--- stdout ---\nrows 3 ['--fast']\n")
    expect(text).toContain('--- stderr ---\ncareful\n')
    expect(text).toMatch(/output files: .*blob\.bin \(256 bytes\)/)
    const structured = result.structuredContent as { job_id: string; exit_code: number; output_files: Array<{ path: string }> }
    expect(structured.exit_code).toBe(0)
    expect(structured.output_files.map((f) => f.path).sort()).toEqual(['blob.bin', 'sum.txt'])

    const listed = await call('list_outputs', { job_id: structured.job_id })
    expect(textOf(listed)).toMatch(/^blob\.bin {2}256 bytes {2}sha256 [0-9a-f]{64}\nsum\.txt {2}2 bytes/)

    const textFile = await call('download_output', { job_id: structured.job_id, path: 'sum.txt' })
    expect(textFile.content).toEqual([{ type: 'text', text: '42' }])
    const binary = await call('download_output', { job_id: structured.job_id, path: 'blob.bin' })
    const resource = binary.content.find((c) => c.type === 'resource')
    expect(resource?.type === 'resource' && 'blob' in resource.resource ? Buffer.from(resource.resource.blob, 'base64') : null).toEqual(Buffer.from(Array.from({ length: 256 }, (_, i) => i)))
    expect(resource?.type === 'resource' ? resource.resource.uri : '').toBe(`sandrun://jobs/${structured.job_id}/outputs/blob.bin`)

    // Both outputs downloaded: the gateway deleted the job, and verify_result checks the kept receipt.
    expect(textOf(await call('get_job_status', { job_id: structured.job_id }))).toMatch(/Job not found/)
    const verified = await call('verify_result', { job_id: structured.job_id })
    expect(verified.isError).toBeFalsy()
    expect(verified.structuredContent).toMatchObject({ verified: true, method: 'worker-signature', worker: { worker_id: gateway.workerKey.workerId, signature_valid: true } })
  })

  it('execute_code reports a failing program as a result, not a tool error', async () => {
    const result = await call('execute_code', { language: 'bash', code: 'echo half; echo broken >&2; exit 3' })
    expect(result.isError).toBeFalsy()
    expect(textOf(result)).toMatch(/: failed\nexit code 3 \(exited\)[\s\S]*--- stdout ---\nhalf\n--- stderr ---\nbroken\n/)
  })

  it('submit_job returns at once; get_job_status waits; get_logs shows the output', async () => {
    const submitted = await call('submit_job', { language: 'node', code: 'console.log(6 * 7)' })
    const jobId = (submitted.structuredContent as { job_id: string }).job_id
    expect(textOf(submitted)).toMatch(new RegExp(`^job ${jobId}: (queued|running)`))
    const status = await call('get_job_status', { job_id: jobId, wait: true })
    expect(textOf(status)).toMatch(/: completed\nexit code 0/)
    expect(textOf(await call('get_logs', { job_id: jobId }))).toBe('--- stdout ---\n42\n--- stderr ---\n')
  })

  it('answers bad requests with readable tool errors', async () => {
    const language = await call('execute_code', { language: 'cobol', code: 'DISPLAY 1' })
    expect(language.isError).toBe(true)
    expect(textOf(language)).toMatch(/Unknown language "cobol"; use one of python, javascript, bash/)

    const missing = await call('get_job_status', { job_id: 'job-does-not-exist' })
    expect(missing.isError).toBe(true)
    expect(textOf(missing)).toMatch(/Job not found.*submit the job again/)

    const refused = await call('execute_code', { language: 'python', code: 'print(1)', timeout: 99999 })
    expect(refused.isError).toBe(true)
    expect(textOf(refused)).toMatch(/timeout/)
  })

  it('download_output names the outputs a job has when the path is wrong', async () => {
    const run = await call('execute_code', { language: 'sh', code: 'echo x > a.txt' })
    const jobId = (run.structuredContent as { job_id: string }).job_id
    const wrong = await call('download_output', { job_id: jobId, path: 'b.txt' })
    expect(wrong.isError).toBe(true)
    expect(textOf(wrong)).toMatch(/has no output "b\.txt"; its outputs are: a\.txt/)
  })

  it('verify_result says a local result rests on the worker signature alone', async () => {
    const run = await call('execute_code', { language: 'python', code: 'print(1)' })
    const { job_id: jobId, result_root: root } = run.structuredContent as { job_id: string; result_root: string }
    const verify = await call('verify_result', { job_id: jobId })
    expect(verify.isError).toBeFalsy()
    expect(textOf(verify)).toMatch(new RegExp(`^verified \\(worker-signature\\): .*signed result root ${root}\nresult root: ${root}\nworker: \\S+ \\(signature valid\\)\ncaveat: `))
  })
})

describe('sandrun mcp --http', () => {
  let server: ChildProcess | undefined
  afterAll(() => {
    server?.kill('SIGTERM')
  })

  it('serves the same tools over Streamable HTTP', async () => {
    server = spawn(process.execPath, [bin, 'mcp', '--http', '--port', '0', '--gateway', gatewayUrl], { stdio: ['ignore', 'ignore', 'pipe'] })
    const url = await new Promise<string>((resolve, reject) => {
      let seen = ''
      server!.stderr!.on('data', (chunk: Buffer) => {
        seen += chunk.toString()
        const match = /"url":"([^"]+)"/.exec(seen)
        if (match) resolve(match[1]!)
      })
      server!.once('exit', (code) => reject(new Error(`sandrun mcp --http exited with ${code}: ${seen}`)))
    })
    const http = new Client({ name: 'sandrun-http-test', version: '1.0.0' })
    await http.connect(new StreamableHTTPClientTransport(new URL(url)))
    try {
      const result = (await http.callTool({ name: 'execute_code', arguments: { language: 'perl', code: 'my $s = 0; $s += $_ for (1, 2, 3); print "$s\\n"' } })) as CallToolResult
      expect(textOf(result)).toContain('--- stdout ---\n6\n')
    } finally {
      await http.close()
    }
  })
})
