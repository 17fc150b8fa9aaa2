// The client's own contract, against a tiny stand-in server: verify() tells "this gateway has no
// verification" apart from "no such job", downloads are checked against the announced sha256, and
// submit() packs in-memory files or a folder itself.
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { mkdtemp, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { afterEach, describe, expect, it } from 'vitest'
import { SandrunClientError } from './clientError.ts'
import { createSandrunClient } from './sandrunClient.ts'

let server: Server | undefined
afterEach(() => server?.close())

async function serve(handler: (request: IncomingMessage, response: ServerResponse, body: Buffer) => void): Promise<string> {
  server = createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (c: Buffer) => chunks.push(c))
    request.on('end', () => handler(request, response, Buffer.concat(chunks)))
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server!.address() as AddressInfo).port}`
}

const json = (response: ServerResponse, status: number, body: unknown): void => void response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))

async function failure(promise: Promise<unknown>): Promise<SandrunClientError> {
  const error = await promise.then(() => null, (e: unknown) => e)
  expect(error).toBeInstanceOf(SandrunClientError)
  return error as SandrunClientError
}

describe('createSandrunClient', () => {
  it('verify: a gateway without GET /verify/:id is NOT_SUPPORTED, pointing at market mode', async () => {
    const url = await serve((request, response) => json(response, 404, { error: 'Not found', details: `No route GET ${request.url}. The API is described at /docs.` }))
    const error = await failure(createSandrunClient({ baseUrl: url }).verify('job-1'))
    expect(error.code).toBe('NOT_SUPPORTED')
    expect(error.message).toMatch(/does not verify results .*market-mode gateway, see docs\/network\.md/)
  })

  it('verify: an unknown job on a verifying gateway stays NOT_FOUND; a report comes back as sent', async () => {
    const url = await serve((request, response) =>
      request.url === '/verify/job-known' ? json(response, 200, { state: 'verified', result_root: '0xab', agreeing: ['a', 'b', 'c'] }) : json(response, 404, { error: 'Job not found', details: 'job-gone' }),
    )
    const client = createSandrunClient({ baseUrl: url })
    expect((await failure(client.verify('job-gone'))).code).toBe('NOT_FOUND')
    expect(await client.verify('job-known')).toEqual({ state: 'verified', result_root: '0xab', agreeing: ['a', 'b', 'c'] })
  })

  it('download: refuses bytes that do not match the announced sha256', async () => {
    const url = await serve((_request, response) => void response.writeHead(200, { 'x-sandrun-sha256': '0'.repeat(64) }).end('tampered'))
    const error = await failure(createSandrunClient({ baseUrl: url }).download('job-1', 'out.txt'))
    expect(error.code).toBe('PROTOCOL')
    expect(error.message).toMatch(/does not match its sha256/)
  })

  it('submit: packs in-memory files or a folder into the bundle it uploads', async () => {
    const uploads: string[] = []
    const url = await serve((request, response, body) => {
      // The gzip member starts right after the part headers and ends before the next boundary.
      const boundary = /boundary=(\S+)/.exec(request.headers['content-type'] ?? '')?.[1] ?? ''
      const start = body.indexOf(Buffer.from([0x1f, 0x8b]))
      uploads.push(gunzipSync(body.subarray(start, body.indexOf(Buffer.from(`\r\n--${boundary}`), start))).toString('latin1'))
      json(response, 200, { job_id: 'job-1', status: 'queued', position: 1 })
    })
    const client = createSandrunClient({ baseUrl: url })
    await client.submit({ files: { 'main.py': 'print(1)' }, manifest: { entrypoint: 'main.py' } })
    const dir = await mkdtemp(path.join(os.tmpdir(), 'sandrun-client-'))
    await writeFile(path.join(dir, 'job.json'), '{"entrypoint":"run.sh"}')
    await writeFile(path.join(dir, 'run.sh'), 'echo hi')
    expect(await client.submit({ dir })).toEqual({ job_id: 'job-1', status: 'queued', position: 1 })
    expect(uploads[0]).toContain('print(1)')
    expect(uploads[1]).toContain('echo hi')
    expect(uploads[1]).toContain('job.json')
  })

  it('submit: reports upload progress, in order, up to the whole request body', async () => {
    let received = 0
    const url = await serve((_request, response, body) => {
      received = body.length
      json(response, 200, { job_id: 'job-1', status: 'queued', position: 1 })
    })
    const progress: Array<[number, number]> = []
    const bundle = randomBytes(600 * 1024)
    await createSandrunClient({ baseUrl: url }).submit({ bundle, manifest: { entrypoint: 'main.py' }, onUploadProgress: (sent, total) => progress.push([sent, total]) })
    expect(progress.length).toBeGreaterThan(1)
    expect(progress.at(-1)).toEqual([received, received])
    const sent = progress.map(([s]) => s)
    expect(sent).toEqual([...sent].sort((a, b) => a - b))
  })

  it('an address where no gateway listens is UNREACHABLE', async () => {
    const url = await serve((_request, response) => json(response, 200, {}))
    await new Promise((resolve) => server!.close(resolve))
    expect((await failure(createSandrunClient({ baseUrl: url }).stats())).code).toBe('UNREACHABLE')
  })
})
