// Serves the web page: GET /ui (and GET / when a browser asks for HTML; API clients keep getting
// the JSON service description) plus its three static assets. The assets are read once at start and
// sent with a strict CSP, since the page runs untrusted users' output in the same origin as the API.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

type Asset = { body: Buffer; type: string; etag: string }

const assetTypes: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'tarGz.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
}

// Only this origin: no CDN, no inline script, and output shown as text can never load anything.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>()
  for (const [name, type] of Object.entries(assetTypes)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url))
    assets.set(name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` })
  }
  return assets
}

/** True when the client prefers a page to JSON: browsers put text/html in Accept, API clients do not. */
function wantsHtml(request: FastifyRequest): boolean {
  return (request.headers.accept ?? '').includes('text/html')
}

export function webRoutes(app: FastifyInstance): void {
  const assets = loadAssets()
  const send = (reply: FastifyReply, request: FastifyRequest, asset: Asset): FastifyReply => {
    reply
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag)
      .header('vary', 'accept')
      .header('content-security-policy', contentSecurityPolicy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send()
    return reply.type(asset.type).send(asset.body)
  }
  const page = assets.get('index.html')!

  app.get('/ui', { schema: { hide: true } }, (request, reply) => send(reply, request, page))
  app.get<{ Params: { asset: string } }>('/ui/:asset', { schema: { hide: true } }, (request, reply) => {
    const asset = request.params.asset === 'index.html' ? undefined : assets.get(request.params.asset)
    if (!asset) return reply.code(404).send({ error: 'Not found', details: 'The web page is at /ui.' })
    return send(reply, request, asset)
  })
  // GET / is the JSON service description; a browser asking for HTML gets the page instead.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method === 'GET' && request.url.split('?')[0] === '/' && wantsHtml(request)) return send(reply, request, page)
  })
}
