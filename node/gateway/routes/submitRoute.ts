// POST /submit: multipart `files` (gzip tar) + `manifest` (JSON, or job.json inside the tarball).
// Limits are checked before the body is read: the per-IP quota (429) and the declared size (413).
// What the service spends on a submission (inflating it, refusing it) is charged to the client.
import type { FastifyInstance, FastifyRequest } from 'fastify'
import type { InflationMeter } from '../../../sandbox/index.ts'
import { BackendError } from '../../backends/backendError.ts'
import { serviceWorkSeconds } from '../../backends/serviceWorkSeconds.ts'
import { clientAddressKey } from '../clientAddressKey.ts'
import { GatewayError } from '../gatewayError.ts'
import type { GatewayContext } from '../gatewayContext.ts'
import { multipartParts } from '../multipartParts.ts'
import { readBundleEntry } from '../readBundleEntry.ts'
import { ErrorBody, RateLimitedBody, SubmitResponse } from '../schemas.ts'
import { errorMessageOf } from '../../../errors/index.ts'

type Submission = { manifest: unknown; bundle: Buffer }

const reservations = new WeakMap<FastifyRequest, { clientId: string; committed: boolean }>()

function invalid(shortMessage: string, details?: string): GatewayError {
  return new GatewayError('SUBMISSION_INVALID', shortMessage, { details })
}

function parseManifestText(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch (error) {
    throw invalid('Invalid manifest: it is not valid JSON.', errorMessageOf(error).slice(0, 200))
  }
}

async function readSubmission(request: FastifyRequest, { options }: GatewayContext, meter: InflationMeter): Promise<Submission> {
  if (!request.isMultipart()) {
    throw new GatewayError('CONTENT_TYPE_UNSUPPORTED', 'POST /submit takes multipart/form-data.', {
      details: 'Send the tar.gz as the `files` part and the JSON manifest as the `manifest` part, e.g. curl -F files=@job.tar.gz -F manifest=@job.json',
    })
  }
  let manifestText: string | null = null
  let bundle: Buffer | null = null
  for await (const part of multipartParts(request)) {
    if (part.fieldname === 'files' && part.type === 'file') {
      if (bundle) throw invalid('Send exactly one `files` part (one tar.gz); pack several files into it.')
      bundle = await part.toBuffer()
    } else if (part.fieldname === 'manifest') {
      if (manifestText !== null) throw invalid('Send exactly one `manifest` part.')
      // A field sent as application/json arrives already parsed by the multipart plugin.
      manifestText = part.type === 'file' ? (await part.toBuffer()).toString('utf8') : typeof part.value === 'string' ? part.value : JSON.stringify(part.value)
      if (Buffer.byteLength(manifestText) > options.maxManifestBytes) throw invalid(`The manifest is larger than ${options.maxManifestBytes} bytes.`)
    } else {
      if (part.type === 'file') part.file.resume()
      throw invalid(`Unknown form part "${part.fieldname.slice(0, 40)}".`, 'Only `files` (the tar.gz) and `manifest` (JSON) are accepted.')
    }
  }
  if (!bundle || bundle.length === 0) throw invalid('Missing `files`: attach the job as a tar.gz, e.g. -F files=@job.tar.gz')
  if (manifestText === null) {
    const entry = await readBundleEntry({ bundle, name: 'job.json', maxEntryBytes: options.maxManifestBytes, meter })
    if (!entry) throw invalid('Missing manifest: send a `manifest` part or put job.json at the root of the tarball.', 'A manifest needs at least {"entrypoint": "main.py"}.')
    manifestText = entry.toString('utf8')
  }
  return { manifest: parseManifestText(manifestText), bundle }
}

export function submitRoute(app: FastifyInstance, context: GatewayContext): void {
  const { backend, limiter, options } = context
  const releaseUncommitted = (request: FastifyRequest): void => {
    const reservation = reservations.get(request)
    reservations.delete(request)
    if (reservation && !reservation.committed) limiter.release(reservation.clientId)
  }
  app.post(
    '/submit',
    {
      schema: {
        summary: 'Submit a job',
        description: 'multipart/form-data: `files` = the job as tar.gz, `manifest` = JSON (or job.json inside the tarball) as described by the Manifest schema.',
        consumes: ['multipart/form-data'],
        response: { 200: SubmitResponse, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: RateLimitedBody, 500: ErrorBody, 503: ErrorBody },
      },
      onRequest: async (request) => {
        const declared = request.headers['content-length']
        if (declared !== undefined && Number(declared) > options.maxUploadBytes) {
          throw new GatewayError('UPLOAD_TOO_LARGE', `Upload too large: the limit is ${options.maxUploadBytes} bytes.`, { details: 'Make the bundle smaller (leave out data the job can do without).' })
        }
        // One quota per IPv4 address or IPv6 /64 (a subscriber holds a whole /64).
        const clientId = clientAddressKey(request.ip)
        const verdict = limiter.reserve(clientId)
        if (!verdict.allowed) throw new GatewayError('RATE_LIMITED', 'Rate limit exceeded', { reason: verdict.reason, retryAfterSeconds: verdict.retryAfterSeconds })
        reservations.set(request, { clientId, committed: false })
      },
      onResponse: async (request) => releaseUncommitted(request),
      // A client that hangs up mid-upload gets no response, but must get its place back.
      onRequestAbort: async (request) => releaseUncommitted(request),
    },
    async (request) => {
      const clientId = clientAddressKey(request.ip)
      // The service's work for this submission counts against the client's CPU quota: every byte
      // inflated (the job.json lookup and validation), and a refusal, which costs the service and
      // not the job.
      const inflation = { inflatedBytes: 0 }
      let refused = false
      try {
        const { manifest, bundle } = await readSubmission(request, context, inflation)
        const accepted = await backend.submit({ manifest, bundle, clientId, meter: inflation })
        const reservation = reservations.get(request)
        if (reservation) {
          reservation.committed = true
          limiter.commit(reservation.clientId)
        }
        return { job_id: accepted.jobId, status: accepted.status, position: accepted.position }
      } catch (error) {
        refused = !(error instanceof BackendError && (error.code === 'QUEUE_FULL' || error.code === 'BACKEND_CLOSED'))
        throw error
      } finally {
        limiter.chargeCpu(clientId, serviceWorkSeconds({ inflatedBytes: inflation.inflatedBytes, refusedSubmissions: refused ? 1 : 0 }))
      }
    },
  )
}
