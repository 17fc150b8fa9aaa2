// The client-side CLI against a real gateway on a port: `sandrun run` streams output, saves the
// outputs and exits with the job's code; `status`, `logs`, `outputs`, `download` read one job.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandrunClient } from '../../node/client/sandrunClient.ts'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { startTestGateway } from './testGateway.ts'

const exec = promisify(execFile)
const bin = path.resolve(import.meta.dirname, '../../bin/sandrun')

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let url: string
let work: string

beforeAll(async () => {
  gateway = await startTestGateway()
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
  work = await mkdtemp(path.join(os.tmpdir(), 'sandrun-cli-'))
})
afterAll(async () => {
  await gateway.close()
})

async function sandrun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [bin, ...args], { cwd: work })
    return { code: 0, stdout, stderr }
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

describe('sandrun CLI against a gateway', () => {
  it('run: submits, streams output, downloads outputs into a folder and prints a summary', async () => {
    const script = path.join(work, 'main.py')
    await writeFile(script, 'import sys\nprint("args", sys.argv[1:])\nopen("result.txt", "w").write("6*7=42")\n')
    const result = await sandrun(['run', script, '--gateway', url, '--out', 'results', '--', 'x', 'y'])
    expect(result.code).toBe(0)
    expect(result.stdout).toBe("args ['x', 'y']\n")
    expect(result.stderr).toMatch(/uploading 100%/)
    expect(result.stderr).toMatch(/completed\nexit code 0 \(exited\)/)
    expect(await readFile(path.join(work, 'results', 'result.txt'), 'utf8')).toBe('6*7=42')
  })

  it('run: exits with the job\'s exit code when it fails', async () => {
    const script = path.join(work, 'fail.sh')
    await writeFile(script, 'echo broken >&2; exit 5\n')
    const result = await sandrun(['run', script, '--gateway', url, '--quiet'])
    expect(result.code).toBe(5)
    expect(result.stderr).toBe('broken\n')
  })

  it('status, logs, outputs and download read a job by id', async () => {
    const client = createSandrunClient({ baseUrl: url })
    const { job_id: jobId } = await client.submit({ bundle: await packFiles({ 'main.sh': 'echo out; echo data > d.txt' }), manifest: { entrypoint: 'main.sh' } })
    const status = JSON.parse((await sandrun(['status', jobId, '--gateway', url, '--wait', '--json'])).stdout) as { status: string }
    expect(status.status).toBe('completed')
    // In words by default, with "—" for nothing and real usage figures.
    const words = (await sandrun(['status', jobId, '--gateway', url])).stdout
    expect(words).toMatch(new RegExp(`^job ${jobId}: completed\nexit code 0 \\(exited\\), \\d+ ms wall, \\d+\\.\\d{3} s CPU, [\\d.]+ MiB peak memory\n`))
    expect(words).toMatch(/output files: d\.txt \(5 bytes\)/)
    expect((await sandrun(['logs', jobId, '--gateway', url])).stdout).toBe('out\n')
    expect((await sandrun(['outputs', jobId, '--gateway', url])).stdout).toMatch(/^\s+5 {2}[0-9a-f]{64} {2}d\.txt\n$/)
    const download = await sandrun(['download', jobId, '--gateway', url, '--out', 'dl'])
    expect(download.code).toBe(0)
    expect(await readFile(path.join(work, 'dl', 'd.txt'), 'utf8')).toBe('data\n')
    const gone = await sandrun(['status', jobId, '--gateway', url])
    expect(gone.code).toBe(1)
    expect(gone.stderr).toMatch(/Job not found/)
  })

  it('outputs says so when a job has none', async () => {
    const client = createSandrunClient({ baseUrl: url })
    const { job_id: jobId } = await client.submit({ bundle: await packFiles({ 'main.sh': 'echo only-logs' }), manifest: { entrypoint: 'main.sh' } })
    await client.wait(jobId)
    const result = await sandrun(['outputs', jobId, '--gateway', url])
    expect(result).toMatchObject({ code: 0, stdout: '', stderr: `job ${jobId} has no output files\n` })
  })

  it('run: a timeout exits 124, as exec does', async () => {
    const script = path.join(work, 'slow.sh')
    await writeFile(script, 'echo started; sleep 30\n')
    const result = await sandrun(['run', script, '--gateway', url, '--timeout', '1'])
    expect(result.code).toBe(124)
    expect(result.stderr).toMatch(/failed\nexit code none \(timeout\)/)
  })

  it('run: a folder with main.py and no job.json runs main.py', async () => {
    const folder = path.join(work, 'project')
    await mkdir(path.join(folder, 'lib'), { recursive: true })
    await writeFile(path.join(folder, 'main.py'), 'from lib.util import greet\nprint(greet())\n')
    await writeFile(path.join(folder, 'lib', 'util.py'), 'def greet():\n    return "hi from lib"\n')
    await writeFile(path.join(folder, 'lib', '__init__.py'), '')
    const result = await sandrun(['run', folder, '--gateway', url, '--quiet'])
    expect(result).toMatchObject({ code: 0, stdout: 'hi from lib\n' })
  })

  it('run keeps the receipt: after the gateway deleted the job, the folder and a nested file still verify', async () => {
    const script = path.join(work, 'nested.py')
    await writeFile(script, 'import os\nos.makedirs("a", exist_ok=True)\nopen("a/b.txt", "w").write("deep")\nopen("top.txt", "w").write("top")\n')
    const result = await sandrun(['run', script, '--gateway', url, '--out', 'kept'])
    expect(result.code).toBe(0)
    const jobId = /job (job-[0-9a-f]+) completed/.exec(result.stderr)![1]!
    expect(result.stderr).toContain(`verify later:  sandrun verify ${jobId} --dir kept --gateway ${url}/`)
    // Every output was downloaded, so the gateway deleted the job.
    expect((await sandrun(['status', jobId, '--gateway', url])).stderr).toMatch(/Job not found/)
    const folder = await sandrun(['verify', jobId, '--dir', 'kept', '--gateway', url])
    expect(folder.stdout).toMatch(/^VERIFIED \(worker-signature\)/m)
    expect(folder.code).toBe(0)
    const nested = await sandrun(['verify', jobId, '--file', 'kept/a/b.txt', '--gateway', url])
    expect(nested.stdout).toMatch(/file a\/b\.txt: VERIFIED\nVERIFIED \(worker-signature\)/)
    expect(nested.code).toBe(0)
    await writeFile(path.join(work, 'kept', 'a', 'b.txt'), 'changed')
    expect((await sandrun(['verify', jobId, '--file', 'kept/a/b.txt', '--gateway', url])).code).toBe(1)
  })

  it('reports an unreachable gateway in words', async () => {
    const result = await sandrun(['status', 'job-x', '--gateway', 'http://127.0.0.1:1'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/Cannot reach the gateway/)
  })
})
