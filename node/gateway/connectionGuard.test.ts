// The connection guard in front of a plain HTTP server: a client that opens connections in a loop
// is refused before its requests are parsed, and only that client.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guardConnections } from './connectionGuard.ts'

let server: http.Server
let port: number
let served = 0

beforeAll(async () => {
  server = http.createServer((_request, response) => {
    served++
    response.setHeader('connection', 'close')
    response.end('ok')
  })
  guardConnections(server, { maxConnections: 1000, maxConnectionsPerAddress: 8, newConnectionsPerAddressPerSecond: 0.001 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  port = (server.address() as AddressInfo).port
})
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())))

function get(localAddress: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, localAddress, agent: false }, (response) => {
        let body = ''
        response.on('data', (chunk: Buffer) => (body += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })
}

describe('connection guard', () => {
  it('lets an address open a burst of connections, then refuses new ones faster than its rate, before any request is served', async () => {
    const before = served
    const burst = []
    for (let i = 0; i < 8; i++) burst.push(await get('127.0.5.1'))
    expect(burst.every((answer) => answer.status === 200)).toBe(true)
    const refused = await get('127.0.5.1')
    expect(refused.status).toBe(429)
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'Too many new connections', retry_after: 5 })
    expect(served - before).toBe(8)
    // Another address is not affected.
    expect((await get('127.0.5.2')).status).toBe(200)
  })
})
