// Sandrun's published clients (queelius/sandrun integrations/: the Python client, the web front end,
// the MCP server) against a real gateway on a port, speaking HTTP the way their source does: the
// Python client itself is replayed call for call with `requests`; the front end (browser fetch) and
// the MCP server (httpx) read /logs/:id as JSON {stdout, stderr} and /outputs/:id's `files`.
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobSubmission, startTestGateway } from '../gateway/testGateway.ts'

const exec = promisify(execFile)
const python = '/usr/bin/python3'
const script = path.join(import.meta.dirname, 'sandrunPythonClientCalls.py')

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let url: string

beforeAll(async () => {
  gateway = await startTestGateway()
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
})
afterAll(async () => {
  await gateway.close()
})

/** Submits one job with the usual multipart form and waits until it has finished. */
async function finishedJob(files: Record<string, string>): Promise<string> {
  const { body, contentType } = await jobSubmission(files, { entrypoint: 'main.py' })
  const { job_id: jobId } = (await (await fetch(`${url}/submit`, { method: 'POST', body, headers: { 'content-type': contentType } })).json()) as { job_id: string }
  await fetch(`${url}/status/${jobId}?wait=60`)
  return jobId
}

describe("Sandrun's published clients", () => {
  it('the Python client: submit a folder, wait, read the logs as JSON, list files, download each', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'sandrun-pyclient-'))
    await writeFile(path.join(folder, 'main.py'), 'import os\nprint("Hello from Sandrun!")\nos.makedirs("results", exist_ok=True)\nopen("results/out.txt", "w").write("42")\n')
    await mkdir(path.join(folder, 'data'))
    await writeFile(path.join(folder, 'data', 'input.txt'), 'x')
    const { stdout } = await exec(python, [script, url, folder, 'main.py'])
    const got = JSON.parse(stdout) as { status: string; stdout: string; stderr: string; files: string[]; downloads: Record<string, string> }
    expect(got).toEqual({ status: 'completed', stdout: 'Hello from Sandrun!\n', stderr: '', files: ['results/out.txt'], downloads: { 'results/out.txt': '42' } })
  })

  it('the web front end and the MCP server: /logs/:id and /outputs/:id with a wildcard Accept parse as they expect', async () => {
    const jobId = await finishedJob({ 'main.py': 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nopen("a.txt", "w").write("a")\n' })
    for (const accept of ['*/*', undefined]) {
      const headers: Record<string, string> = accept ? { accept } : {}
      const logs = (await (await fetch(`${url}/logs/${jobId}`, { headers })).json()) as { stdout?: string; stderr?: string }
      expect(logs.stdout).toBe('out\n')
      expect(logs.stderr).toBe('err\n')
      const outputs = (await (await fetch(`${url}/outputs/${jobId}`, { headers })).json()) as { files?: string[] }
      expect(outputs.files).toEqual(['a.txt'])
    }
  })
})
