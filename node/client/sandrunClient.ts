// TypeScript client of the Sandrun REST API (used by the CLI, the MCP server and the benchmark):
// submit files, a folder or a bundle with a manifest, read status (or wait for the end), stream
// logs, list and download outputs, read the verification report. Every failure is a
// SandrunClientError with a code saying what to do.
import { createHash, randomBytes } from 'node:crypto'
import { packDirectory, packFiles, type PackFileContent } from '../../sandbox/bundle/index.ts'
import { gatewayJobId, type GatewayJobId } from '../../verifier/index.ts'
import { errorFromAnswer, SandrunClientError } from './clientError.ts'
import { httpRequest, type HttpRequestParameters, type HttpResponse } from './httpRequest.ts'
import { streamLogs, type LogStreamMessage } from './streamLogs.ts'
import type { JobState, JobStatusBody, OutputFileBody } from './jobStatusBody.ts'

export type { JobState, JobStatusBody, JobVerification, OutputFileBody } from './jobStatusBody.ts'

export type SubmitSource =
  | { /** The job as a gzip tar (see packFiles / packDirectory). */ bundle: Uint8Array; files?: undefined; dir?: undefined }
  | { /** `{ 'main.py': 'print(1)', 'data/in.csv': bytes }` */ files: Record<string, PackFileContent>; bundle?: undefined; dir?: undefined }
  | { /** A folder packed whole (its job.json is the manifest unless one is given). */ dir: string; bundle?: undefined; files?: undefined }

export type SubmitParameters = SubmitSource & {
  /** The manifest; leave out to use job.json inside the bundle. */
  manifest?: Record<string, unknown> | undefined
  /** Called as the upload goes out: bytes sent so far and the total. */
  onUploadProgress?: ((sent: number, total: number) => void) | undefined
  signal?: AbortSignal | undefined
}

export type { GatewayJobId }

/** `job_id` is the id this gateway issued; the methods below take it, or any id a user has as a string. */
export type SubmitReturnType = { job_id: GatewayJobId; status: JobState; position: number }

export type LogsReturnType = { stdout: string; stderr: string; stdout_truncated: boolean; stderr_truncated: boolean }

export type OutputsReturnType = { job_id: string; /** Output paths (Sandrun's original shape). */ files: string[]; outputs: OutputFileBody[] }

export type StatsReturnType = {
  /** This client's (IP's) quota: CPU seconds per minute, active jobs, and whether a submit would pass now. */
  your_quota: { used: number; limit: number; available: number; active_jobs: number; can_submit: boolean; reason: string; retry_after?: number }
  system: Record<string, number>
}

/**
 * `GET /verify/:id`: whether the served result is proven and by what (`chain` in market mode,
 * `worker-signature` in local and pool modes), with the entries to recompute the root from and the
 * chain's report. Loosely typed like JobVerification.
 */
export type VerifyReturnType = {
  job_id?: string
  method?: 'chain' | 'worker-signature' | string
  verified?: boolean
  reason?: string
  caveat?: string
  result_root?: string | null
  entries?: Array<{ name: string; sha256: string; size: number }>
  worker?: { worker_id: string; signature: string; signature_valid: boolean } | null
  chain?: Record<string, unknown> | null
  [field: string]: unknown
}

export type WaitParameters = {
  /** Called with each status seen while waiting (queued, running...). */
  onStatus?: ((status: JobStatusBody) => void) | undefined
  signal?: AbortSignal | undefined
}

export type SandrunClientOptions = {
  /** e.g. http://127.0.0.1:8443 */
  baseUrl: string
}

export type SandrunClient = ReturnType<typeof createSandrunClient>

function multipart(bundle: Uint8Array, manifest: Record<string, unknown> | undefined): { body: Buffer; contentType: string } {
  const boundary = `sandrun-${randomBytes(12).toString('hex')}`
  const parts: Buffer[] = [
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="job.tar.gz"\r\nContent-Type: application/gzip\r\n\r\n`),
    Buffer.from(bundle.buffer, bundle.byteOffset, bundle.byteLength),
    Buffer.from('\r\n'),
  ]
  if (manifest) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="manifest"\r\nContent-Type: application/json\r\n\r\n${JSON.stringify(manifest)}\r\n`))
  }
  parts.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(parts), contentType: `multipart/form-data; boundary=${boundary}` }
}

async function bundleOf(source: SubmitSource): Promise<Uint8Array> {
  if (source.bundle) return source.bundle
  if (source.files) return packFiles(source.files)
  if (source.dir) return packDirectory(source.dir)
  throw new SandrunClientError('REQUEST_INVALID', 'Nothing to submit: pass `bundle`, `files` or `dir`.')
}

export function createSandrunClient({ baseUrl }: SandrunClientOptions) {
  const root = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`
  const id = (jobId: string): string => encodeURIComponent(jobId)

  const request = async (path: string, init: HttpRequestParameters = {}): Promise<HttpResponse> => {
    let response: HttpResponse
    try {
      response = await httpRequest(new URL(path, root), init)
    } catch (error) {
      if (error instanceof Error && error.name === 'AbortError') throw error
      throw new SandrunClientError('UNREACHABLE', `Cannot reach the gateway at ${root}; is \`sandrun serve\` running there?`, { cause: error })
    }
    if (response.status < 200 || response.status > 299) throw errorFromAnswer(response.status, response.statusText, response.body.toString('utf8'))
    return response
  }
  const json = async <T>(path: string, init?: HttpRequestParameters): Promise<T> => JSON.parse((await request(path, init)).body.toString('utf8')) as T

  const client = {
    baseUrl: root,

    async submit({ manifest, onUploadProgress, signal, ...source }: SubmitParameters): Promise<SubmitReturnType> {
      const { body, contentType } = multipart(await bundleOf(source as SubmitSource), manifest)
      const headers = { 'content-type': contentType, 'content-length': String(body.length) }
      const accepted = await json<Omit<SubmitReturnType, 'job_id'> & { job_id: string }>('submit', { method: 'POST', headers, body, onUploadProgress, signal })
      return { ...accepted, job_id: gatewayJobId(accepted.job_id) }
    },

    status(jobId: string, { waitSeconds, signal }: { waitSeconds?: number; signal?: AbortSignal } = {}): Promise<JobStatusBody> {
      return json<JobStatusBody>(`status/${id(jobId)}${waitSeconds ? `?wait=${waitSeconds}` : ''}`, { signal })
    },

    /** Resolves with the final status (completed or failed), long-polling so it returns as soon as the job ends. */
    async wait(jobId: string, { onStatus, signal }: WaitParameters = {}): Promise<JobStatusBody> {
      let status = await client.status(jobId, { signal })
      while (status.status === 'queued' || status.status === 'running') {
        onStatus?.(status)
        status = await client.status(jobId, { waitSeconds: 30, signal })
      }
      onStatus?.(status)
      return status
    },

    logs(jobId: string): Promise<LogsReturnType> {
      return json(`logs/${id(jobId)}`)
    },

    streamLogs(jobId: string, { signal }: { signal?: AbortSignal } = {}): AsyncGenerator<LogStreamMessage> {
      return streamLogs({ baseUrl: root, jobId, signal })
    },

    outputs(jobId: string): Promise<OutputsReturnType> {
      return json(`outputs/${id(jobId)}`)
    },

    /**
     * One output file's bytes, checked against the sha256 the gateway announces for it (the gateway
     * deletes the job once every output was downloaded).
     */
    async download(jobId: string, path: string): Promise<Buffer> {
      const encoded = path.split('/').map(encodeURIComponent).join('/')
      const response = await request(`download/${id(jobId)}/${encoded}`)
      const content = response.body
      const expected = response.headers['x-sandrun-sha256']?.toString().replace(/^0x/, '').toLowerCase()
      if (expected && createHash('sha256').update(content).digest('hex') !== expected) {
        throw new SandrunClientError('PROTOCOL', `Output ${path} does not match its sha256; the download is corrupt. Download it again.`)
      }
      return content
    },

    /** All outputs as one tar.gz. */
    async downloadAll(jobId: string): Promise<Buffer> {
      return (await request(`download/${id(jobId)}`)).body
    },

    async delete(jobId: string): Promise<void> {
      await request(`jobs/${id(jobId)}`, { method: 'DELETE' })
    },

    /**
     * The verification report of a market-mode job (consensus root, agreeing and slashed workers,
     * chain ids, tx hashes). Gateways without verification answer NOT_SUPPORTED.
     */
    async verify(jobId: string, { signal }: { signal?: AbortSignal } = {}): Promise<VerifyReturnType> {
      try {
        return await json<VerifyReturnType>(`verify/${id(jobId)}`, { signal })
      } catch (error) {
        // The gateway's catch-all 404 ("No route ...") means the route itself is missing, not the job.
        if (error instanceof SandrunClientError && error.code === 'NOT_FOUND' && error.details?.startsWith('No route')) {
          throw new SandrunClientError('NOT_SUPPORTED', `The gateway at ${root} does not verify results (no GET /verify/:id); verified results need a market-mode gateway, see docs/network.md.`, {
            status: 404,
            cause: error,
          })
        }
        throw error
      }
    },

    stats: () => json<StatsReturnType>('stats'),
    health: () => json<{ status: string; worker_id: string; mode: string }>('health'),
    environments: () => json<{ templates: Record<string, unknown>; interpreters: Array<{ name: string; version: string | null }> }>('environments'),
  }
  return client
}

export type { LogStreamMessage }

/** Where `sandrun serve` listens by default. */
export const defaultGatewayUrl = 'http://127.0.0.1:8443'
