// Market mode tells the truth while a job runs and after: the log of the worker that runs the job
// streams live (before anyone committed), the usage shown is what the workers signed (median, per
// worker), and output past the cap is cut by the one rule of every mode and announced, never cut
// silently or started mid-line. A result fetched with `sandrun run` or MCP verifies on chain after the
// gateway deleted the job. Real anvil, real `sandrun worker` processes, real sandbox.
import { mkdtemp, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandrunClient, type LogStreamMessage } from '../../node/client/index.ts'
import { createSandbox, defaultSandboxLimits, type Sandbox } from '../../sandbox/index.ts'
import { defaultMarketBackendOptions } from '../../node/backends/market/marketBackendOptions.ts'
import { startMarketNetwork, type MarketNetwork, type TestGateway, type WorkerProcess } from './marketNetwork.ts'
import { runSandrunCli, sandrunBin } from '../runSandrunCli.ts'

let sandbox: Sandbox
let network: MarketNetwork
let gateway: TestGateway
let workers: WorkerProcess[]


beforeAll(async () => {
  sandbox = await createSandbox()
  network = await startMarketNetwork({ sandbox })
  gateway = await network.startGateway()
  workers = await Promise.all(['live-a', 'live-b', 'live-c'].map((name) => network.startWorker({ name, gateway })))
})

afterAll(async () => {
  await Promise.all((workers ?? []).map((w) => w.stop('crash')))
  await network?.stop()
  await sandbox?.close()
})

describe('market mode: live output, reported usage, truncation', () => {
  it('the gateway cuts output where the sandbox does', () => {
    expect(defaultMarketBackendOptions.outputCaptureBytes).toBe(defaultSandboxLimits.outputCaptureBytes)
  })

  it('streams the running worker\'s output before any commit, then shows the workers\' signed usage', async () => {
    // The second line waits for a file nobody creates, for 2 s: the first line must arrive while the job still runs.
    const jobId = await gateway.submit(
      { 'main.py': 'import time\nprint("first", flush=True)\ntime.sleep(2)\nx = bytearray(30 * 1024 * 1024)\nprint("second")\n' },
      { entrypoint: 'main.py' },
    )
    const client = createSandrunClient({ baseUrl: gateway.url })
    const messages: LogStreamMessage[] = []
    let whileRunning: Awaited<ReturnType<typeof client.status>> | undefined
    for await (const message of client.streamLogs(jobId)) {
      messages.push(message)
      if (message.type === 'output' && message.data.includes('first') && !whileRunning) whileRunning = await client.status(jobId)
    }
    expect(whileRunning).toMatchObject({ status: 'running', verification: { committed: 0 } })
    const output = messages.flatMap((m) => (m.type === 'output' ? [m.data] : [])).join('')
    expect(output).toBe('first\nsecond\n')

    const final = await client.wait(jobId)
    const meta = final.execution_metadata!
    expect(meta).toMatchObject({ exit_code: 0, termination: 'exited', reported_by: 'workers', reports: 3, stdout_truncated: false, stderr_truncated: false })
    // Figures a user can check against the job: it slept 2 s and held a 30 MiB buffer.
    expect(meta.wall_time_ms).toBeGreaterThanOrEqual(2000)
    expect(meta.memory_peak_bytes).toBeGreaterThan(30 * 1024 * 1024)
    expect(meta.cpu_seconds).toBeGreaterThan(0)
    const executions = final.verification!.executions as unknown as Array<{ address: string; signature_valid: boolean; result_root: string; wall_time_ms: number }>
    expect(executions.map((e) => e.address).sort()).toEqual(workers.map((w) => w.address).sort())
    expect(executions.every((e) => e.signature_valid && e.result_root === final.job_hash && e.wall_time_ms >= 2000)).toBe(true)
  })

  it('output past the cap: the stream starts at the first line, says where it was cut, and /logs flags it', async () => {
    const cap = defaultSandboxLimits.outputCaptureBytes
    // 200,000 lines of 64 bytes: 12.8 MB, past the 10 MiB cap.
    const jobId = await gateway.submit({ 'main.py': 'import sys\nfor i in range(200000):\n    sys.stdout.write("line %06d %s\\n" % (i, "x" * 51))\n' }, { entrypoint: 'main.py' })
    const client = createSandrunClient({ baseUrl: gateway.url })
    const messages: LogStreamMessage[] = []
    for await (const message of client.streamLogs(jobId)) messages.push(message)
    const streamed = messages.flatMap((m) => (m.type === 'output' ? [m.data] : [])).join('')
    expect(streamed.startsWith('line 000000 ')).toBe(true)
    expect(Buffer.byteLength(streamed)).toBe(cap)
    expect(messages.some((m) => m.type === 'gap')).toBe(false)
    expect(messages.filter((m) => m.type === 'truncated')).toEqual([{ type: 'truncated', stream: 'stdout', cap_bytes: cap }])
    const logs = await client.logs(jobId)
    expect(logs).toMatchObject({ stdout_truncated: true, stderr_truncated: false })
    expect(Buffer.byteLength(logs.stdout)).toBe(cap)
    expect((await client.status(jobId)).execution_metadata).toMatchObject({ stdout_truncated: true, reported_by: 'workers' })
  })

  it('sandrun run keeps the receipt: once the gateway deleted the job, the printed verify command passes on chain', async () => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'sandrun-market-run-'))
    await writeFile(path.join(work, 'main.py'), 'import os\nos.makedirs("a", exist_ok=True)\nopen("a/b.txt", "w").write("deep")\n')
    const { stderr } = await runSandrunCli(['run', 'main.py', '--gateway', gateway.url, '--out', 'out'], work)
    const command = /verify later: {2}sandrun (verify .*)$/m.exec(stderr)?.[1]
    expect(command).toMatch(/^verify job-[0-9a-f]+ --dir out --rpc \S+ --market 0x[0-9a-f]{40}$/)
    expect(stderr).toMatch(/on-chain job \d+ \(chain 31337, market 0x[0-9a-f]{40}\)/)
    const jobId = command!.split(' ')[1]!
    expect((await fetch(`${gateway.url}/status/${jobId}`)).status).toBe(404)
    // The gateway does not advertise its RPC here: the user fills in their own.
    const args = command!.replace(/--rpc \S+/, `--rpc ${network.anvil.rpcUrl}`).split(' ')
    const folder = await runSandrunCli(args, work)
    expect(folder.stdout).toMatch(/^VERIFIED \(chain\)/m)
    expect(folder.code).toBe(0)
    const file = await runSandrunCli([...args.filter((a) => a !== '--dir' && a !== 'out'), '--file', 'out/a/b.txt'], work)
    expect(file.stdout).toMatch(/file a\/b\.txt: VERIFIED\nVERIFIED \(chain\)/)
    expect(file.code).toBe(0)
  })

  it('MCP: download_output keeps the receipt, and verify_result proves the result on chain after the gateway deleted the job', async () => {
    const mcp = new Client({ name: 'sandrun-test', version: '1.0.0' })
    await mcp.connect(new StdioClientTransport({ command: process.execPath, args: [sandrunBin, 'mcp', '--gateway', gateway.url, '--rpc', network.anvil.rpcUrl], stderr: 'pipe' }))
    try {
      const call = async (name: string, args: Record<string, unknown>) => (await mcp.callTool({ name, arguments: args })) as CallToolResult
      const ran = await call('execute_code', { language: 'python', code: 'open("answer.txt", "w").write("42")\n' })
      const jobId = (ran.structuredContent as { job_id: string }).job_id
      expect((await call('download_output', { job_id: jobId, path: 'answer.txt' })).content).toEqual([{ type: 'text', text: '42' }])
      expect((await fetch(`${gateway.url}/status/${jobId}`)).status).toBe(404)
      const verified = await call('verify_result', { job_id: jobId })
      expect(verified.structuredContent).toMatchObject({ verified: true, method: 'chain' })
    } finally {
      await mcp.close()
    }
  })
})
