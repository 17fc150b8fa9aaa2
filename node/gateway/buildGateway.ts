// Assembles the fastify app of the REST API over any JobBackend: hardened HTTP server settings
// (timeouts against slowloris, header cap, upload cap), CORS, OpenAPI at /docs, multipart, WebSocket,
// one error handler, a JSON 404 for unknown routes, and the routes.
import http from 'node:http'
import type { Socket } from 'node:net'
import Fastify, { type FastifyInstance } from 'fastify'
import cors from '@fastify/cors'
import multipart from '@fastify/multipart'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import websocket from '@fastify/websocket'
import type { JobBackend } from '../backends/jobBackend.ts'
import { createAddressSlots } from './addressSlots.ts'
import type { GatewayOptions } from './config.ts'
import { type ConnectionGuard, connectionsUnderFileLimit, guardConnections, openFileLimit } from './connectionGuard.ts'
import { createErrorHandler, type ErrorReport } from './errorHandler.ts'
import { guardUpgrades } from './guardUpgrades.ts'
import { createRateLimiter } from './rateLimiter.ts'
import { downloadRoutes } from './routes/downloadRoutes.ts'
import { jobRoutes } from './routes/jobRoutes.ts'
import { logStreamRoute } from './routes/logStreamRoute.ts'
import { serviceRoutes } from './routes/serviceRoutes.ts'
import { submitRoute } from './routes/submitRoute.ts'
import { verifyRoutes } from './routes/verifyRoutes.ts'
import { webRoutes } from '../web/webRoutes.ts'
import { ErrorBody, RateLimitedBody } from './schemas.ts'
import { manifestJsonSchema } from '../../sandbox/index.ts'

export type BuildGatewayParameters = {
  backend: JobBackend
  options: GatewayOptions
  /** Structured operator log (fixed message + context); never receives job contents. */
  log?: ErrorReport | undefined
}

/** Answers for malformed HTTP the parser rejects before fastify sees a request. */
function clientErrorResponse(code: string | undefined): string {
  const [status, text, details] =
    code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'Send fewer or shorter headers.']
      : code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'The request took too long to arrive; send it in one go.']
        : [400, 'Bad Request', 'The request is not valid HTTP/1.1 (check Content-Length and headers).']
  const body = JSON.stringify({ error: text, details })
  return `HTTP/1.1 ${status} ${text}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`
}

export async function buildGateway({ backend, options, log = () => undefined }: BuildGatewayParameters): Promise<FastifyInstance> {
  const errorHandler = createErrorHandler(log)
  let guard: ConnectionGuard | undefined
  const app = Fastify({
    logger: false,
    trustProxy: options.trustProxy,
    // Download paths can be long; the route schema caps them.
    routerOptions: { maxParamLength: 4200 },
    bodyLimit: 1024 * 1024,
    return503OnClosing: true,
    // Router-level refusals (URL too long, bad percent-encoding) get the same body as every error.
    frameworkErrors: (error, request, reply) => void errorHandler(error, request, reply),
    serverFactory: (handler) => {
      const server = http.createServer(
        {
          requestTimeout: options.requestTimeoutMs,
          headersTimeout: options.headersTimeoutMs,
          keepAliveTimeout: options.keepAliveTimeoutMs,
          connectionsCheckingInterval: options.timeoutCheckIntervalMs,
          maxHeaderSize: options.maxHeaderBytes,
        },
        handler,
      )
      guard = guardConnections(server, {
        maxConnections: options.maxConnections ?? connectionsUnderFileLimit(openFileLimit()),
        // Behind a proxy every connection comes from the proxy's address.
        maxConnectionsPerAddress: options.trustProxy === false ? options.maxConnectionsPerAddress : 0,
        newConnectionsPerAddressPerSecond: options.trustProxy === false ? options.newConnectionsPerAddressPerSecond : 0,
        listenBacklog: options.listenBacklog,
      })
      return server
    },
    // Through the guard, a few dozen a turn: a timeout check can find hundreds of idle connections at once.
    clientErrorHandler: (error: Error & { code?: string }, socket: Socket) => {
      if (guard) guard.refuse(socket, clientErrorResponse(error.code))
      else if (socket.writable) socket.end(clientErrorResponse(error.code))
      else socket.destroy()
    },
  })

  const limiter = createRateLimiter(options.rateLimits, { activeJobsOf: (clientId) => backend.stats().activeJobsOf(clientId) })
  backend.meterUsage({ charge: limiter.chargeCpu, exhausted: limiter.exhausted, used: limiter.usedSeconds })
  const reads = createAddressSlots({ perAddress: options.maxReadsPerAddress, what: 'concurrent reads of logs and outputs' })
  const viewers = createAddressSlots({ perAddress: options.maxLogViewersPerAddress, what: 'log viewers' })
  const context = { backend, options, limiter, reads, viewers }

  app.addSchema(ErrorBody)
  app.addSchema(RateLimitedBody)
  // Documentation only (components.schemas.Manifest): the backend validates with parseManifest,
  // which reads the same schema, so the refusals keep their own messages.
  app.addSchema(manifestJsonSchema())
  app.setErrorHandler(errorHandler)
  app.setNotFoundHandler({}, (request, reply) => {
    reply.code(404).send({ error: 'Not found', details: `No route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}. The API is described at /docs.` })
  })

  await app.register(cors, { origin: '*', exposedHeaders: ['content-disposition', 'x-sandrun-sha256', 'retry-after'] })
  await app.register(swagger, {
    // Shared schemas keep their $id as their name (ErrorBody, Manifest) instead of def-N.
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) },
    openapi: {
      info: { title: 'Sandrun', description: 'Anonymous, ephemeral, sandboxed code execution.', version: '0.1.0' },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs' })
  await app.register(multipart, {
    limits: {
      fileSize: options.maxUploadBytes,
      fieldSize: options.maxManifestBytes,
      files: 2,
      fields: 2,
      parts: 4,
      headerPairs: 20,
      fieldNameSize: 64,
    },
    throwFileSizeLimit: true,
  })
  await app.register(websocket, { options: { maxPayload: 4096 } })
  // Behind a proxy the socket's address is the proxy's: the route's check (request.ip) decides.
  if (guard && options.trustProxy === false) guardUpgrades(app.server, viewers, guard, { perAddress: options.maxLogViewersPerAddress })

  submitRoute(app, context)
  jobRoutes(app, context)
  logStreamRoute(app, context)
  downloadRoutes(app, context)
  serviceRoutes(app, context)
  verifyRoutes(app, context)
  // Mode-specific routes come with the backend (JobBackend.routes).
  if (backend.routes) await app.register(backend.routes)
  webRoutes(app)
  return app
}
