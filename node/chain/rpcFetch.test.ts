// The fetch the chain transport uses, against a real HTTP server on a port: it returns what the
// server answered, keeps one connection for requests one after the other, gives up on a request
// whose signal aborts, and refuses a body above its cap before reading it whole.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { maxRpcResponseBytes, rpcFetch } from './rpcFetch.ts'

let server: http.Server
let url: string
let connections = 0
const arrived: string[] = []
const closed: string[] = []

beforeAll(async () => {
  server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      if (request.url === '/never') {
        arrived.push('never')
        response.on('close', () => closed.push('never'))
        return
      }
      if (request.url === '/huge') {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': String(maxRpcResponseBytes + 1) })
        response.write('{')
        return
      }
      if (request.url === '/busy') {
        response.writeHead(429, { 'retry-after': '1', 'content-type': 'text/plain' })
        return response.end('slow down')
      }
      response.writeHead(200, { 'content-type': 'application/json' })
      response.end(JSON.stringify({ method: request.method, contentType: request.headers['content-type'], body }))
    })
  })
  server.on('connection', () => connections++)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(async () => {
  server.closeAllConnections()
  await new Promise((resolve) => server.close(resolve))
})

describe('rpcFetch', () => {
  it('answers what the server sent, over one kept-alive connection for requests one after the other', async () => {
    const before = connections
    for (let n = 0; n < 5; n++) {
      const response = await rpcFetch(`${url}/rpc`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: `{"id":${n}}` })
      expect(response.ok).toBe(true)
      expect(response.headers.get('Content-Type')).toBe('application/json')
      expect(JSON.parse(await response.text())).toEqual({ method: 'POST', contentType: 'application/json', body: `{"id":${n}}` })
    }
    expect(connections - before).toBe(1)
  })

  it('hands back an error status with its headers', async () => {
    const response = await rpcFetch(`${url}/busy`, { method: 'POST', body: '{}' })
    expect([response.ok, response.status, response.headers.get('Retry-After'), await response.text()]).toEqual([false, 429, '1', 'slow down'])
  })

  it('gives up on a request whose signal aborts, and closes its connection', async () => {
    const controller = new AbortController()
    const pending = rpcFetch(`${url}/never`, { method: 'POST', body: '{}', signal: controller.signal })
    await expect.poll(() => arrived).toContain('never')
    controller.abort()
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' })
    await expect.poll(() => closed).toContain('never')
  })

  it('refuses a body above its cap without reading it', async () => {
    await expect(rpcFetch(`${url}/huge`, { method: 'POST', body: '{}' })).rejects.toThrow(/more than 16777216/)
  })
})
