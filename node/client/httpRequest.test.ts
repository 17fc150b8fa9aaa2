// The client's transport against a real HTTP server that closes a kept-alive socket as the next
// request arrives, as a gateway whose keep-alive ran out does: the request is sent again on a new
// socket and answered; a server that resets a fresh socket is still an error.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { httpRequest } from './httpRequest.ts'

let server: http.Server | undefined
afterEach(async () => {
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined))
  server = undefined
})

/** A server that answers each socket's first request and drops the socket at its second. */
async function serverClosingReusedSockets(): Promise<{ url: URL; bodies: string[] }> {
  const bodies: string[] = []
  const served = new WeakMap<object, number>()
  server = http.createServer((request, response) => {
    const count = (served.get(request.socket) ?? 0) + 1
    served.set(request.socket, count)
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      if (count > 1) {
        request.socket.destroy()
        return
      }
      bodies.push(Buffer.concat(chunks).toString())
      response.end(`answer ${bodies.length}`)
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return { url: new URL(`http://127.0.0.1:${(server!.address() as AddressInfo).port}/submit`), bodies }
}

describe('httpRequest', () => {
  it('sends a request again when the kept-alive socket it went out on was closed by the server', async () => {
    const { url, bodies } = await serverClosingReusedSockets()
    // httpRequest uses the global agent: the first request leaves a kept-alive socket behind.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    const globalAgent = http.globalAgent
    http.globalAgent = agent
    try {
      const first = await httpRequest(url, { method: 'POST', body: Buffer.from('one') })
      const second = await httpRequest(url, { method: 'POST', body: Buffer.from('two') })
      expect([first.body.toString(), second.body.toString()]).toEqual(['answer 1', 'answer 2'])
      expect(bodies).toEqual(['one', 'two'])
    } finally {
      http.globalAgent = globalAgent
      agent.destroy()
    }
  })

  it('still fails when the server resets a fresh socket', async () => {
    server = http.createServer((request) => request.socket.destroy())
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
    const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    await expect(httpRequest(url)).rejects.toMatchObject({ code: 'ECONNRESET' })
  })
})
