// GET /verify/:id (is this result proven, and by what) and POST /verify/:id (is this uploaded file
// part of it). Market jobs are checked against the chain through verifier/chain (the gateway's own
// RPC); local and pool jobs only against the worker's signature, and the answer says so.
import { createHash } from 'node:crypto'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { Static } from '@sinclair/typebox'
import { createPublicClient, isAddress, type Address, type PublicClient } from 'viem'
import { isOpenStatus, jobReportJson, verifyJob, type VerifyJobReturnType } from '../../../verifier/chain/index.ts'
import { type ChainJobId, resultEntries, resultRoot, VerifierError, verifyOutputFile, verifyWorkerSignature, type ResultEntry } from '../../../verifier/index.ts'
import { BackendError } from '../../backends/backendError.ts'
import { createAddressSlots } from '../addressSlots.ts'
import type { JobBackend, JobStatus } from '../../backends/jobBackend.ts'
import type { GatewayContext } from '../gatewayContext.ts'
import { GatewayError } from '../gatewayError.ts'
import { multipartParts } from '../multipartParts.ts'
import { ErrorBody, JobIdParams, RateLimitedBody } from '../schemas.ts'
import { VerifyFileResponse, VerifyResponse } from '../verifySchemas.ts'
import { chainTransport } from '../../chain/chainTransport.ts'
import { requestJobId } from '../requestJobId.ts'

/** Where a market job lives on chain (from `JobStatus.verification`). */
type ChainJobReference = { chainId: number; market: Address; jobId: ChainJobId }

const signatureCaveat =
  'A worker signature proves which key signed this result root, not that the result is right: in local and pool modes the operator and its workers are trusted. Market mode has independent staked workers agree on chain.'
const chainCaveat =
  'The chain proves that a quorum of staked workers committed to this root; a colluding majority could still agree on a wrong result, and this answer relies on the gateway\'s RPC node: check it yourself with `sandrun verify <id> --rpc <url> --deployment <file>`.'

/** The on-chain job behind a market job; null before it is posted, and in local and pool modes. */
function chainReference({ verification: v }: JobStatus): ChainJobReference | null {
  if (!v || v.chainJobId === null || !isAddress(v.market)) return null
  return { chainId: v.chainId, market: v.market, jobId: v.chainJobId }
}

/**
 * The result entries this gateway serves for a finished job, rebuilt from its status and logs.
 * Hashing 2 x 10 MiB of logs takes tens of milliseconds of the event loop: a finished result never
 * changes, so each is hashed once (the last `maxCached` are kept).
 */
function servedEntries(backend: JobBackend, status: JobStatus, cache: Map<string, ResultEntry[]>): ResultEntry[] {
  if (!status.execution || !status.resultRoot) {
    throw new BackendError('JOB_NOT_FINISHED', 'The job has no result to verify yet; verify once GET /status/:id says completed or failed.', { details: status.status })
  }
  const key = `${status.jobId}:${status.resultRoot}`
  const cached = cache.get(key)
  if (cached) return cached
  const logs = backend.logs(status.jobId)
  const entries = resultEntries({
    exitCode: status.execution.exitCode,
    termination: status.execution.termination,
    stdout: logs.stdout,
    stderr: logs.stderr,
    outputs: status.outputFiles,
  })
  if (cache.size >= maxCached) cache.delete(cache.keys().next().value as string)
  cache.set(key, entries)
  return entries
}

const maxCached = 256

function chainError(reply: FastifyReply, error: unknown): FastifyReply {
  if (!(error instanceof VerifierError)) throw error
  // The chain, not the client, is at fault: a gateway in front of a bad or wrong RPC.
  return reply.code(502).send({ error: error.shortMessage, details: `${error.code}: the gateway's RPC could not confirm this job; verify yourself with sandrun verify --rpc.` })
}

/**
 * The uploaded file's sha256 and size, hashed as it arrives (never held: eight parallel 99 MiB
 * uploads would otherwise be 0.8 GiB of the service's memory), and the output path it claims.
 */
async function readUpload(request: FastifyRequest): Promise<{ path: string; digest: { sha256: string; size: number } }> {
  if (!request.isMultipart()) {
    throw new GatewayError('CONTENT_TYPE_UNSUPPORTED', 'POST /verify/:id takes multipart/form-data.', { details: 'e.g. curl -F file=@result.csv -F path=result.csv' })
  }
  let digest: { sha256: string; size: number } | null = null
  let outputPath: string | null = null
  for await (const part of multipartParts(request)) {
    if (part.fieldname === 'file' && part.type === 'file' && digest === null) {
      const hash = createHash('sha256')
      let size = 0
      for await (const chunk of part.file as AsyncIterable<Buffer>) {
        hash.update(chunk)
        size += chunk.length
      }
      // The size cap cuts the stream short rather than failing it: refuse what was truncated.
      if (part.file.truncated) throw new GatewayError('UPLOAD_TOO_LARGE', 'Upload too large.', { details: 'The file is larger than the upload limit.' })
      digest = { sha256: `0x${hash.digest('hex')}`, size }
    } else if (part.fieldname === 'path' && part.type === 'field' && outputPath === null && typeof part.value === 'string') outputPath = part.value
    else {
      if (part.type === 'file') part.file.resume()
      throw new GatewayError('SUBMISSION_INVALID', `Unexpected form part "${part.fieldname.slice(0, 40)}".`, { details: 'Send one `file` and one `path` (the output path as GET /outputs/:id lists it).' })
    }
  }
  if (digest === null || outputPath === null) {
    throw new GatewayError('SUBMISSION_INVALID', 'Send the file as `file` and its output path as `path`.', { details: 'e.g. curl -F file=@result.csv -F path=result.csv' })
  }
  return { path: outputPath, digest }
}

export function verifyRoutes(app: FastifyInstance, { backend, options }: GatewayContext): void {
  const uploads = createAddressSlots({ perAddress: options.maxVerifyUploadsPerAddress, total: options.maxVerifyUploads, what: 'uploads to /verify' })
  const client: PublicClient | null = options.rpcUrl ? createPublicClient({ transport: chainTransport(options.rpcUrl) }) : null
  // Settled jobs never change; keep their reports so repeated checks do not each cost RPC calls.
  const settled = new Map<string, VerifyJobReturnType>()
  const entriesCache = new Map<string, ResultEntry[]>()

  async function chainReport(ref: ChainJobReference): Promise<VerifyJobReturnType> {
    if (!client) {
      throw new BackendError('BACKEND_CLOSED', 'This gateway has no RPC URL, so it cannot read the chain.', {
        details: 'The operator sets one (gateway option rpcUrl); meanwhile verify with sandrun verify <id> --rpc <url> --deployment <file>.',
      })
    }
    const key = `${ref.chainId}:${ref.market}:${ref.jobId}`
    const cached = settled.get(key)
    if (cached) return cached
    const report = await verifyJob(client, ref)
    if (!isOpenStatus(report.status)) {
      if (settled.size >= 1000) settled.delete(settled.keys().next().value as string)
      settled.set(key, report)
    }
    return report
  }

  app.get<{ Params: Static<typeof JobIdParams> }>(
    '/verify/:id',
    {
      schema: {
        summary: 'How this result is proven: the market consensus on chain, or (local/pool) the worker signature',
        params: JobIdParams,
        response: { 200: VerifyResponse, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 500: ErrorBody, 502: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const status = backend.status(requestJobId(request))
      const ref = chainReference(status)
      if (backend.mode === 'market' && !ref) {
        throw new BackendError('JOB_NOT_FINISHED', 'The job is not on chain yet; verify once it has been posted.', { details: status.status })
      }
      const entries = status.resultRoot && status.execution ? servedEntries(backend, status, entriesCache) : []
      const servedRoot = entries.length > 0 ? resultRoot(entries) : null
      const base = { job_id: status.jobId, result_root: status.resultRoot, entries: entries.map(({ name, sha256, size }) => ({ name, sha256, size })) }
      if (ref) {
        let report: VerifyJobReturnType
        try {
          report = await chainReport(ref)
        } catch (error) {
          return chainError(reply, error)
        }
        const root = report.consensusRoot
        const verified = report.verdict.verified && servedRoot !== null && servedRoot === root && status.resultRoot === root
        const reason = !report.verdict.verified
          ? report.verdict.reason
          : verified
            ? `the result this gateway serves has the consensus root ${root} of job ${ref.jobId} on chain ${ref.chainId}`
            : servedRoot === null
              ? 'the chain has a consensus root but this gateway has not stored the result yet'
              : `the result this gateway serves (root ${servedRoot}) is NOT the consensus root ${root}`
        return { ...base, method: 'chain' as const, verified, reason, caveat: chainCaveat, worker: null, chain: jobReportJson(report) }
      }
      const signatureValid = status.worker !== null && status.resultRoot !== null && verifyWorkerSignature({ workerId: status.worker.workerId, root: status.resultRoot, signature: status.worker.signature })
      const verified = signatureValid && servedRoot === status.resultRoot
      const reason = !status.resultRoot
        ? 'the job has no result yet'
        : !signatureValid
          ? 'the worker signature over the result root does not check out'
          : verified
            ? `worker ${status.worker!.workerId} signed result root ${status.resultRoot}`
            : `the result this gateway serves (root ${servedRoot}) is not the signed root ${status.resultRoot}`
      return {
        ...base,
        method: 'worker-signature' as const,
        verified,
        reason,
        caveat: signatureCaveat,
        worker: status.worker ? { worker_id: status.worker.workerId, signature: status.worker.signature, signature_valid: signatureValid } : null,
        chain: null,
      }
    },
  )

  app.post<{ Params: Static<typeof JobIdParams> }>(
    '/verify/:id',
    {
      schema: {
        summary: 'Check an uploaded file against the job\'s result root (multipart: `file` and its output `path`)',
        description: 'Market mode: against the consensus root on chain. Local and pool modes: against the worker-signed root.',
        consumes: ['multipart/form-data'],
        params: JobIdParams,
        response: { 200: VerifyFileResponse, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: RateLimitedBody, 500: ErrorBody, 502: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const status = backend.status(requestJobId(request))
      uploads.hold(request, reply.raw)
      const upload = await readUpload(request)
      const entries = servedEntries(backend, status, entriesCache)
      const ref = chainReference(status)
      const method = ref || backend.mode === 'market' ? ('chain' as const) : ('worker-signature' as const)
      let root: string | null = null
      if (ref) {
        try {
          root = (await chainReport(ref)).consensusRoot
        } catch (error) {
          return chainError(reply, error)
        }
      } else if (method === 'worker-signature' && status.worker && status.resultRoot && verifyWorkerSignature({ workerId: status.worker.workerId, root: status.resultRoot, signature: status.worker.signature })) {
        root = status.resultRoot
      }
      const name = `outputs/${upload.path}`
      if (!root) {
        return { job_id: status.jobId, method, path: upload.path, verified: false, code: 'NO_TRUSTED_ROOT', reason: 'there is no consensus root on chain (or valid worker signature) to check against', root: null }
      }
      const result = verifyOutputFile({ root, name, digest: upload.digest, entries })
      return {
        job_id: status.jobId,
        method,
        path: upload.path,
        verified: result.verified,
        code: result.code,
        reason: result.reason,
        root,
        ...(result.expectedName?.startsWith('outputs/') ? { expected_path: result.expectedName.slice('outputs/'.length) } : {}),
      }
    },
  )
}
