// The client's HTTP transport: one request, its whole answer in memory. node:http with the global
// keep-alive agent costs a fraction of fetch's CPU per request, which adds up for a client that
// submits and long-polls thousands of jobs on the gateway's own machine (the API benchmark).
import { once } from 'node:events'
import http, { type IncomingHttpHeaders } from 'node:http'
import https from 'node:https'

export type HttpRequestParameters = {
  method?: string | undefined
  headers?: Record<string, string> | undefined
  body?: Buffer | undefined
  /** Called as the body goes out: bytes handed to the socket so far and the total. */
  onUploadProgress?: ((sent: number, total: number) => void) | undefined
  signal?: AbortSignal | undefined
}

export type HttpResponse = {
  status: number
  statusText: string
  headers: IncomingHttpHeaders
  body: Buffer
}

const uploadChunkBytes = 256 * 1024

/**
 * Sends the request and reads the whole answer. Rejects with the transport's error (an
 * `AbortError` when `signal` aborts), whatever the HTTP status.
 *
 * A request that went out on a kept-alive socket the gateway had just closed as idle (its
 * keep-alive, 5 s by default, ran out while the request was on its way) is reset before anything
 * was answered: it is sent once more on a new socket, as Node's documentation advises
 * (`request.reusedSocket`). Any other reset is the caller's to see.
 */
export async function httpRequest(url: URL, parameters: HttpRequestParameters = {}): Promise<HttpResponse> {
  // Each idle socket of the agent may be stale: a few tries, then the reset as it came.
  for (let attempt = 1; ; attempt++) {
    try {
      return await requestOnce(url, parameters)
    } catch (error) {
      if (!(error instanceof StaleSocketError)) throw error
      if (attempt >= 3) throw error.cause
    }
  }
}

/** A reset on a reused keep-alive socket before any answer: the server closed it as idle. */
class StaleSocketError extends Error {}

async function requestOnce(url: URL, { method = 'GET', headers, body, onUploadProgress, signal }: HttpRequestParameters): Promise<HttpResponse> {
  const transport = url.protocol === 'https:' ? https : http
  const request = transport.request(url, { method, headers, signal })
  const answered = new Promise<HttpResponse>((resolve, reject) => {
    request.once('error', (error: NodeJS.ErrnoException) => {
      reject(request.reusedSocket && error.code === 'ECONNRESET' && !signal?.aborted ? new StaleSocketError(error.message, { cause: error }) : error)
    })
    request.once('response', (response) => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.once('error', reject)
      response.once('end', () => resolve({ status: response.statusCode ?? 0, statusText: response.statusMessage ?? '', headers: response.headers, body: Buffer.concat(chunks) }))
    })
  })
  if (body && onUploadProgress) {
    for (let offset = 0; offset < body.length && !request.destroyed; offset += uploadChunkBytes) {
      const chunk = body.subarray(offset, offset + uploadChunkBytes)
      if (!request.write(chunk)) await Promise.race([once(request, 'drain'), answered.catch(() => undefined)])
      onUploadProgress(offset + chunk.length, body.length)
    }
    if (!request.destroyed) request.end()
  } else {
    request.end(body)
  }
  return answered
}
