// The REST API in local mode with real jobs: Sandrun's JSON shapes, the result commitment and the
// worker signature, downloads, retention, limits, client IPs, CORS and the OpenAPI docs.
import { randomBytes } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { resultEntries, resultRoot, verifyWorkerSignature } from '../../verifier/index.ts'
import { jobSubmission, startTestGateway } from './testGateway.ts'

type Gateway = Awaited<ReturnType<typeof startTestGateway>>

async function submit(gateway: Gateway, files: Record<string, string>, manifest: unknown, headers: Record<string, string> = {}) {
  const { body, contentType } = await jobSubmission(files, manifest)
  return gateway.app.inject({ method: 'POST', url: '/submit', payload: body, headers: { 'content-type': contentType, ...headers } })
}

async function finished(gateway: Gateway, jobId: string) {
  const response = await gateway.app.inject({ url: `/status/${jobId}?wait=30` })
  expect(response.statusCode).toBe(200)
  return response.json()
}

/** Names and contents of the entries of a tar.gz (regular files only). */
async function untar(archive: Buffer): Promise<Record<string, string>> {
  const { default: tar } = await import('tar-stream')
  const extract = tar.extract()
  const files: Record<string, string> = {}
  extract.end(gunzipSync(archive))
  for await (const entry of extract) {
    const chunks: Buffer[] = []
    for await (const chunk of entry) chunks.push(chunk as Buffer)
    files[entry.header.name] = Buffer.concat(chunks).toString()
  }
  return files
}

describe('REST API, local mode', () => {
  let gateway: Gateway
  beforeAll(async () => {
    gateway = await startTestGateway()
  })
  afterAll(async () => {
    await gateway.close()
  })

  it('runs a job: submit, status with Sandrun fields, logs, outputs, one download, then the job is deleted', async () => {
    const accepted = await submit(gateway, { 'main.py': 'import sys\nprint("hello")\nprint("warn", file=sys.stderr)\nopen("result.txt","w").write("42")' }, { entrypoint: 'main.py' })
    expect(accepted.statusCode).toBe(200)
    expect(accepted.json()).toMatchObject({ job_id: expect.stringMatching(/^job-[0-9a-f]{32}$/), status: 'queued', position: expect.any(Number) })
    const jobId = accepted.json().job_id as string

    const status = await finished(gateway, jobId)
    expect(status).toMatchObject({
      job_id: jobId,
      status: 'completed',
      execution_metadata: { exit_code: 0, environment: 'default', termination: 'exited', cpu_seconds: expect.any(Number), memory_peak_bytes: expect.any(Number), wall_time_ms: expect.any(Number) },
      output_files: { 'result.txt': { path: 'result.txt', size_bytes: 2, sha256_hash: expect.stringMatching(/^(0x)?[0-9a-f]{64}$/), type: 'file' } },
      worker_metadata: { worker_id: gateway.workerKey.workerId, signature: expect.any(String) },
    })

    // JSON by default (Sandrun's published clients parse it); text when asked for.
    const logsReply = await gateway.app.inject({ url: `/logs/${jobId}` })
    expect(logsReply.headers['content-type']).toMatch(/^application\/json/)
    const json = logsReply.json()
    expect(json).toMatchObject({ stdout: 'hello\n', stderr: 'warn\n', stdout_truncated: false, stderr_truncated: false })
    for (const request of [{ url: `/logs/${jobId}?format=text` }, { url: `/logs/${jobId}`, headers: { accept: 'text/plain' } }]) {
      const text = await gateway.app.inject(request)
      expect(text.headers['content-type']).toMatch(/^text\/plain/)
      expect(text.body).toBe('hello\nwarn\n')
    }
    expect((await gateway.app.inject({ url: `/logs/${jobId}`, headers: { accept: '*/*' } })).json().stdout).toBe('hello\n')

    // The job hash is the result root over what the user can see, signed by this gateway's key.
    const root = resultRoot(
      resultEntries({
        exitCode: 0,
        termination: 'exited',
        stdout: Buffer.from(json.stdout),
        stderr: Buffer.from(json.stderr),
        outputs: [{ path: 'result.txt', sha256: status.output_files['result.txt'].sha256_hash, sizeBytes: 2 }],
      }),
    )
    expect(status.job_hash).toBe(root)
    expect(verifyWorkerSignature({ workerId: status.worker_metadata.worker_id, root, signature: status.worker_metadata.signature })).toBe(true)

    const outputs = (await gateway.app.inject({ url: `/outputs/${jobId}` })).json()
    expect(outputs).toEqual({ job_id: jobId, files: ['result.txt'], outputs: [{ path: 'result.txt', size_bytes: 2, sha256_hash: status.output_files['result.txt'].sha256_hash, type: 'file' }] })

    const download = await gateway.app.inject({ url: `/download/${jobId}/result.txt` })
    expect(download.statusCode).toBe(200)
    expect(download.body).toBe('42')
    expect(download.headers['content-type']).toBe('application/octet-stream')
    expect(download.headers['content-disposition']).toBe('attachment; filename="result.txt"')

    // All outputs were downloaded: the job is gone.
    expect((await gateway.app.inject({ url: `/status/${jobId}` })).statusCode).toBe(404)
  })

  it('downloads all outputs as one tar.gz and deletes the job after it', async () => {
    const { job_id: jobId } = (await submit(gateway, { 'main.sh': 'mkdir -p sub; echo a > a.txt; echo b > sub/b.txt' }, { entrypoint: 'main.sh' })).json()
    await finished(gateway, jobId)
    const archive = await gateway.app.inject({ url: `/download/${jobId}` })
    expect(archive.statusCode).toBe(200)
    expect(archive.headers['content-type']).toBe('application/gzip')
    expect(await untar(archive.rawPayload)).toEqual({ 'a.txt': 'a\n', 'sub/b.txt': 'b\n' })
    expect((await gateway.app.inject({ url: `/outputs/${jobId}` })).statusCode).toBe(404)
  })

  it('reads the manifest from job.json in the tarball when the field is absent, in small and large bundles', async () => {
    const { packFiles } = await import('../../sandbox/bundle/packFiles.ts')
    const { multipartBody } = await import('./testGateway.ts')
    // Small bundles are read in one go, larger ones streamed: job.json is found either way.
    for (const data of [{}, { 'data.bin': randomBytes(2 * 1024 * 1024) }] as Array<Record<string, Buffer>>) {
      const bundle = await packFiles({ ...data, 'job.json': JSON.stringify({ entrypoint: 'run.sh', args: ['from-job-json'] }), 'run.sh': 'echo "$1"' })
      const { body, contentType } = multipartBody([{ name: 'files', value: bundle, filename: 'job.tar.gz' }])
      const response = await gateway.app.inject({ method: 'POST', url: '/submit', payload: body, headers: { 'content-type': contentType } })
      expect(response.statusCode).toBe(200)
      await finished(gateway, response.json().job_id)
      expect((await gateway.app.inject({ url: `/logs/${response.json().job_id}?format=text` })).body).toBe('from-job-json\n')
    }
  })

  it('reports a failing job as failed, kept 5 minutes after it finished', async () => {
    const { job_id: jobId } = (await submit(gateway, { 'main.sh': 'echo oops >&2; exit 3' }, { entrypoint: 'main.sh' })).json()
    const status = await finished(gateway, jobId)
    expect(status).toMatchObject({ status: 'failed', execution_metadata: { exit_code: 3, termination: 'exited' } })
    expect(Date.parse(status.expires_at) - Date.parse(status.finished_at)).toBe(5 * 60 * 1000)
  })

  it('shows running, and cancels a running job when it is deleted', async () => {
    const { job_id: jobId } = (await submit(gateway, { 'main.sh': 'echo started; sleep 60' }, { entrypoint: 'main.sh' })).json()
    await expect.poll(async () => (await gateway.app.inject({ url: `/status/${jobId}` })).json().status).toBe('running')
    const deleted = await gateway.app.inject({ method: 'DELETE', url: `/jobs/${jobId}` })
    expect(deleted.json()).toEqual({ job_id: jobId, status: 'deleted' })
    expect((await gateway.app.inject({ url: `/status/${jobId}` })).statusCode).toBe(404)
    await expect.poll(() => gateway.backend.stats().runningJobs).toBe(0)
  })

  it('serves service info, stats, environments and health', async () => {
    expect((await gateway.app.inject({ url: '/' })).json()).toMatchObject({ service: 'sandrun', status: 'running', mode: 'local' })
    const stats = (await gateway.app.inject({ url: '/stats' })).json()
    expect(stats).toMatchObject({ your_quota: { can_submit: true, limit: 1000 }, system: { queue_length: 0, parallelism: expect.any(Number) } })
    const environments = (await gateway.app.inject({ url: '/environments' })).json()
    expect(environments.interpreters.map((i: { name: string }) => i.name)).toEqual(expect.arrayContaining(['python3', 'bash']))
    expect((await gateway.app.inject({ url: '/health' })).json()).toMatchObject({ status: 'healthy', worker_id: gateway.workerKey.workerId, isolation: expect.any(String) })
  })

  it('publishes OpenAPI with every route and a docs page', async () => {
    const spec = (await gateway.app.inject({ url: '/docs/json' })).json()
    for (const path of ['/submit', '/status/{id}', '/logs/{id}', '/outputs/{id}', '/download/{id}', '/stats', '/environments', '/health', '/']) {
      expect(Object.keys(spec.paths)).toContain(path)
    }
    expect(spec.components.schemas.Manifest).toMatchObject({ required: ['entrypoint'], properties: { timeout: { maximum: 3600, default: 300 } } })
    const page = await gateway.app.inject({ url: '/docs' })
    expect([200, 302]).toContain(page.statusCode)
  })

  it('answers CORS preflights for browser clients', async () => {
    const response = await gateway.app.inject({ method: 'OPTIONS', url: '/submit', headers: { origin: 'https://example.org', 'access-control-request-method': 'POST' } })
    expect(response.statusCode).toBe(204)
    expect(response.headers['access-control-allow-origin']).toBe('*')
  })
})

describe('per-IP limits', () => {
  // One real sandbox shared by the differently configured gateways below (start-up is the slow part).
  let sandbox: Sandbox
  beforeAll(async () => {
    sandbox = await createSandbox()
  })
  afterAll(async () => {
    await sandbox.close()
  })

  it('refuses a second concurrent job with 429, a reason and retry_after', async () => {
    const gateway = await startTestGateway({ sandbox, gateway: { rateLimits: { concurrentJobs: 1 } } })
    try {
      const first = await submit(gateway, { 'main.sh': 'sleep 30' }, { entrypoint: 'main.sh' })
      expect(first.statusCode).toBe(200)
      const second = await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'main.sh' })
      expect(second.statusCode).toBe(429)
      expect(second.json()).toMatchObject({ error: 'Rate limit exceeded', reason: expect.stringMatching(/concurrent/), retry_after: expect.any(Number) })
      expect(second.headers['retry-after']).toBe(String(second.json().retry_after))
      // Another address is not affected.
      const other = await gateway.app.inject({ method: 'POST', url: '/submit', remoteAddress: '10.9.9.9', ...(await payload({ 'main.sh': 'echo' })) })
      expect(other.statusCode).toBe(200)
    } finally {
      await gateway.close()
    }
  })

  it('refuses jobs beyond the hourly limit, and bad submissions do not use it up', async () => {
    const gateway = await startTestGateway({ sandbox, gateway: { rateLimits: { jobsPerHour: 2 } } })
    try {
      expect((await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'missing.sh' })).statusCode).toBe(400)
      expect((await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'main.sh' })).statusCode).toBe(200)
      expect((await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'main.sh' })).statusCode).toBe(200)
      const third = await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'main.sh' })
      expect(third.statusCode).toBe(429)
      expect(third.json().reason).toMatch(/[Hh]ourly/)
      expect(third.json().retry_after).toBeGreaterThan(3000)
    } finally {
      await gateway.close()
    }
  })

  it('refuses jobs once the CPU seconds of the last minute are used up', async () => {
    const gateway = await startTestGateway({ sandbox, gateway: { rateLimits: { cpuSecondsPerMinute: 0.05 } } })
    try {
      const busy = await submit(gateway, { 'main.py': 'x = 0\nfor i in range(3_000_000): x += i' }, { entrypoint: 'main.py' })
      await finished(gateway, busy.json().job_id)
      const next = await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'main.sh' })
      expect(next.statusCode).toBe(429)
      expect(next.json().reason).toMatch(/CPU quota/)
      expect((await gateway.app.inject({ url: '/stats' })).json().your_quota).toMatchObject({ can_submit: false, available: 0 })
    } finally {
      await gateway.close()
    }
  })

  it('uses the socket address, and X-Forwarded-For only from a trusted proxy', async () => {
    for (const trustProxy of [false, true]) {
      const gateway = await startTestGateway({ sandbox, gateway: { trustProxy, rateLimits: { jobsPerHour: 1 } } })
      try {
        const a = await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'main.sh' }, { 'x-forwarded-for': '203.0.113.1' })
        const b = await submit(gateway, { 'main.sh': 'echo' }, { entrypoint: 'main.sh' }, { 'x-forwarded-for': '203.0.113.2' })
        expect(a.statusCode).toBe(200)
        expect(b.statusCode).toBe(trustProxy ? 200 : 429)
      } finally {
        await gateway.close()
      }
    }
  })
})

async function payload(files: Record<string, string>) {
  const { body, contentType } = await jobSubmission(files, { entrypoint: Object.keys(files)[0] })
  return { payload: body, headers: { 'content-type': contentType } }
}
