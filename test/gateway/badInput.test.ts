// Hostile and malformed input, one case per test; the last test checks a normal job still succeeds.
// Every refusal must be a 4xx with {error, details} and no host path; the server must survive all.
import { existsSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { createFakeSandbox } from './fakeSandbox.ts'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { craftedBundle, jobSubmission, multipartBody, rawExchange, startTestGateway } from './testGateway.ts'

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let port: number
const maxUploadBytes = 2 * 1024 * 1024

beforeAll(async () => {
  gateway = await startTestGateway({
    gateway: { maxUploadBytes, headersTimeoutMs: 300 * hostSlowdown(), requestTimeoutMs: 600 * hostSlowdown(), timeoutCheckIntervalMs: 100 },
  })
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  port = (gateway.app.server.address() as AddressInfo).port
})
afterAll(async () => {
  await gateway.close()
})

async function injectPayload(files: Record<string, string>, manifest: unknown) {
  const { body, contentType } = await jobSubmission(files, manifest)
  return { payload: body, headers: { 'content-type': contentType } }
}

async function submit(payload: { body: Buffer; contentType: string }) {
  return gateway.app.inject({ method: 'POST', url: '/submit', payload: payload.body, headers: { 'content-type': payload.contentType } })
}

/** Asserts a client error with the documented body and no host path in it. */
function expectRefusal(response: { statusCode: number; body: string }, status: number, pattern?: RegExp): void {
  expect(response.statusCode).toBe(status)
  const body = JSON.parse(response.body) as { error: string; details?: string }
  expect(typeof body.error).toBe('string')
  expect(response.body).not.toContain(gateway.dataDir)
  expect(response.body).not.toMatch(/\/dev\/shm|\/run\/sandrun|node_modules/)
  if (pattern) expect(`${body.error} ${body.details ?? ''}`).toMatch(pattern)
}

const okFiles = { 'main.sh': 'echo ok' }

async function withBundle(bundle: Buffer, manifest: unknown = { entrypoint: 'main.sh' }) {
  return submit(multipartBody([{ name: 'files', value: bundle, filename: 'job.tar.gz' }, { name: 'manifest', value: JSON.stringify(manifest) }]))
}

describe('bad input', () => {
  it('no manifest field and no job.json in the bundle', async () => {
    expectRefusal(await submit(multipartBody([{ name: 'files', value: await packFiles(okFiles), filename: 'job.tar.gz' }])), 400, /manifest/i)
  })

  it('manifest that is not JSON', async () => {
    expectRefusal(await submit(multipartBody([{ name: 'files', value: await packFiles(okFiles), filename: 'j.tgz' }, { name: 'manifest', value: '{entrypoint: main.sh' }])), 400, /JSON/)
  })

  it('manifest that is a JSON array', async () => {
    expectRefusal(await withBundle(await packFiles(okFiles), ['main.sh']), 400)
  })

  it('manifest with a wrong type', async () => {
    expectRefusal(await withBundle(await packFiles(okFiles), { entrypoint: 42 }), 400, /entrypoint/)
  })

  it('manifest with an unknown field', async () => {
    expectRefusal(await withBundle(await packFiles(okFiles), { entrypoint: 'main.sh', entry_point: 'x' }), 400, /entry_point/)
  })

  it('timeout out of range', async () => {
    expectRefusal(await withBundle(await packFiles(okFiles), { entrypoint: 'main.sh', timeout: 999_999 }), 400, /timeout/)
  })

  it('memory limit out of range', async () => {
    expectRefusal(await withBundle(await packFiles(okFiles), { entrypoint: 'main.sh', memory_mb: 1_000_000 }), 400, /memory_mb/)
  })

  it('entrypoint missing from the bundle', async () => {
    expectRefusal(await withBundle(await packFiles({ 'other.sh': 'echo' })), 400, /entrypoint/i)
  })

  it('files part that is not gzip', async () => {
    expectRefusal(await withBundle(Buffer.from('just some text, not an archive')), 400)
  })

  it('gzip that is not a tar', async () => {
    expectRefusal(await withBundle(gzipSync(Buffer.from('x'.repeat(2000)))), 400)
  })

  it('tar member escaping with ..', async () => {
    expectRefusal(await withBundle(await craftedBundle([{ name: 'main.sh', content: 'echo' }, { name: '../../escape.sh', content: 'x' }])), 400)
  })

  it('tar member with an absolute path', async () => {
    expectRefusal(await withBundle(await craftedBundle([{ name: 'main.sh', content: 'echo' }, { name: '/etc/sandrun-test', content: 'x' }])), 400)
  })

  it('symlink member pointing outside the job', async () => {
    expectRefusal(await withBundle(await craftedBundle([{ name: 'main.sh', content: 'echo' }, { name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }])), 400)
  })

  it('hardlink member pointing outside the job', async () => {
    expectRefusal(await withBundle(await craftedBundle([{ name: 'main.sh', content: 'echo' }, { name: 'shadow', type: 'link', linkname: '../../etc/shadow' }])), 400)
  })

  it('entrypoint that is a symlink to a host file', async () => {
    expectRefusal(await withBundle(await craftedBundle([{ name: 'main.sh', type: 'symlink', linkname: '/bin/sh' }])), 400)
  })

  it('crafted multipart filename does not write anywhere', async () => {
    const target = '/dev/shm/sandrun-crafted-filename'
    const payload = multipartBody([
      { name: 'files', value: await packFiles(okFiles), filename: `../../../../..${target}` },
      { name: 'manifest', value: JSON.stringify({ entrypoint: 'main.sh' }) },
    ])
    const response = await submit(payload)
    expect(response.statusCode).toBe(200)
    expect(existsSync(target)).toBe(false)
  })

  it('duplicate manifest fields', async () => {
    const payload = multipartBody([
      { name: 'files', value: await packFiles(okFiles), filename: 'j.tgz' },
      { name: 'manifest', value: JSON.stringify({ entrypoint: 'main.sh' }) },
      { name: 'manifest', value: JSON.stringify({ entrypoint: 'other.sh' }) },
    ])
    expectRefusal(await submit(payload), 400, /manifest/)
  })

  it('duplicate files parts', async () => {
    const bundle = await packFiles(okFiles)
    const payload = multipartBody([
      { name: 'files', value: bundle, filename: 'a.tgz' },
      { name: 'files', value: bundle, filename: 'b.tgz' },
      { name: 'manifest', value: JSON.stringify({ entrypoint: 'main.sh' }) },
    ])
    expectRefusal(await submit(payload), 400, /files/)
  })

  it('unknown form part', async () => {
    const payload = multipartBody([
      { name: 'files', value: await packFiles(okFiles), filename: 'a.tgz' },
      { name: 'script', value: 'rm -rf /' },
    ])
    expectRefusal(await submit(payload), 400, /script/)
  })

  it('empty body', async () => {
    expectRefusal(await submit({ body: Buffer.alloc(0), contentType: 'multipart/form-data; boundary=x' }), 400)
  })

  it('multipart with a missing or empty boundary', async () => {
    const { body } = await jobSubmission(okFiles, { entrypoint: 'main.sh' })
    for (const contentType of ['multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary=""']) {
      expectRefusal(await submit({ body, contentType }), 400, /multipart body is malformed.*boundary/i)
    }
  })

  it('multipart with a missing boundary on POST /verify of an existing job', async () => {
    const response = await submit(await jobSubmission({ 'main.sh': 'echo x > out.txt' }, { entrypoint: 'main.sh' }))
    const id = response.json().job_id as string
    await gateway.app.inject({ url: `/status/${id}?wait=30` })
    const { body } = multipartBody([{ name: 'file', value: 'x\n', filename: 'out.txt' }, { name: 'path', value: 'out.txt' }])
    const answer = await gateway.app.inject({ method: 'POST', url: `/verify/${id}`, payload: body, headers: { 'content-type': 'multipart/form-data' } })
    expectRefusal(answer, 400, /multipart body is malformed/)
  })

  it('wrong content type', async () => {
    const response = await gateway.app.inject({ method: 'POST', url: '/submit', payload: { entrypoint: 'main.sh' } })
    expectRefusal(response, 415, /multipart/)
  })

  it('Content-Length that is not a number', async () => {
    const answer = await rawExchange(port, 'POST /submit HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\nhello')
    expect(answer).toMatch(/^HTTP\/1\.1 400 /)
  })

  it('header flood', async () => {
    const headers = Array.from({ length: 2000 }, (_, i) => `X-Flood-${i}: ${'a'.repeat(20)}\r\n`).join('')
    const answer = await rawExchange(port, `GET /health HTTP/1.1\r\nHost: x\r\n${headers}\r\n`)
    expect(answer).toMatch(/^HTTP\/1\.1 431 /)
  })

  it('slowloris headers are cut off by the header timeout', async () => {
    const answer = await rawExchange(port, 'GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ', { keepOpen: true })
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('slowloris partial body is cut off by the request timeout', async () => {
    const answer = await rawExchange(port, 'POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n', { keepOpen: true })
    expect(answer).toMatch(/^HTTP\/1\.1 408 /)
  })

  it('oversized upload is refused with 413 before the body is sent', async () => {
    const answer = await rawExchange(port, `POST /submit HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: ${200 * 1024 * 1024}\r\n\r\n`, { keepOpen: true })
    expect(answer).toMatch(/^HTTP\/1\.1 413 /)
    expect(answer).toMatch(/"error"/)
  })

  it('oversized upload without a declared length is refused with 413', async () => {
    const payload = multipartBody([
      { name: 'files', value: Buffer.alloc(maxUploadBytes + 1024, 1), filename: 'big.tgz' },
      { name: 'manifest', value: JSON.stringify({ entrypoint: 'main.sh' }) },
    ])
    const response = await fetch(`http://127.0.0.1:${port}/submit`, {
      method: 'POST',
      headers: { 'content-type': payload.contentType },
      // A stream body is sent chunked, with no Content-Length to check up front.
      body: new Blob([payload.body]).stream(),
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
  })

  it('unknown job id', async () => {
    for (const url of ['/status/job-00000000000000000000000000000000', '/logs/nope', '/outputs/nope', '/download/nope', '/download/nope/a.txt']) {
      expectRefusal(await gateway.app.inject({ url }), 404)
    }
  })

  it('unknown route and wrong method', async () => {
    expectRefusal(await gateway.app.inject({ url: '/admin' }), 404)
    expectRefusal(await gateway.app.inject({ method: 'PUT', url: '/submit' }), 404)
  })

  it('traversal in a download path', async () => {
    const response = await submit(await jobSubmission({ 'main.sh': 'echo x > out.txt' }, { entrypoint: 'main.sh' }))
    const id = response.json().job_id as string
    await gateway.app.inject({ url: `/status/${id}?wait=30` })
    for (const path of ['..%2F..%2F..%2Fetc%2Fpasswd', '%2E%2E/%2E%2E/etc/passwd', 'a/../../etc/passwd', '%2Fetc%2Fpasswd']) {
      const answer = await gateway.app.inject({ url: `/download/${id}/${path}` })
      expect([400, 404]).toContain(answer.statusCode)
      expect(answer.body).not.toContain('root:')
    }
  })

  it('download of an output symlink that points outside', async () => {
    const response = await submit(await jobSubmission({ 'main.sh': 'ln -s /etc/passwd leak.txt; echo x > real.txt' }, { entrypoint: 'main.sh' }))
    const id = response.json().job_id as string
    const status = (await gateway.app.inject({ url: `/status/${id}?wait=30` })).json()
    expect(Object.keys(status.output_files)).not.toContain('leak.txt')
    const answer = await gateway.app.inject({ url: `/download/${id}/leak.txt` })
    expectRefusal(answer, 404)
    expect(answer.body).not.toContain('root:')
  })

  it('interpreter that does not exist', async () => {
    expectRefusal(await withBundle(await packFiles({ 'main.cob': 'x' }), { entrypoint: 'main.cob', interpreter: 'cobol' }), 400, /interpreter/i)
  })

  it('interpreter that this host does not have installed', async () => {
    // A host with bash only (stand-in sandbox): a python job must be refused at submit time.
    const bashOnly = await startTestGateway({ sandbox: createFakeSandbox() })
    try {
      const response = await bashOnly.app.inject({ method: 'POST', url: '/submit', ...(await injectPayload({ 'main.py': 'print(1)' }, { entrypoint: 'main.py' })) })
      expectRefusal(response, 400, /python3.*not installed/)
    } finally {
      await bashOnly.close()
    }
  })

  it('forbidden env var', async () => {
    expectRefusal(await withBundle(await packFiles(okFiles), { entrypoint: 'main.sh', env: { LD_PRELOAD: '/tmp/x.so' } }), 400, /LD_PRELOAD/)
  })

  it('PATH override in env', async () => {
    expectRefusal(await withBundle(await packFiles(okFiles), { entrypoint: 'main.sh', env: { PATH: '/tmp' } }), 400, /PATH/)
  })

  it('overlong job id', async () => {
    const response = await gateway.app.inject({ url: `/status/${'a'.repeat(5000)}` })
    expect([400, 404, 414]).toContain(response.statusCode)
    expect(response.body.length).toBeLessThan(1000)
  })

  it('a normal job still succeeds after all of the above', async () => {
    const response = await submit(await jobSubmission({ 'main.py': 'print("still alive")' }, { entrypoint: 'main.py' }))
    expect(response.statusCode).toBe(200)
    const status = (await gateway.app.inject({ url: `/status/${response.json().job_id}?wait=30` })).json()
    expect(status.status).toBe('completed')
    expect((await gateway.app.inject({ url: `/logs/${status.job_id}` })).json().stdout).toBe('still alive\n')
  })
})
