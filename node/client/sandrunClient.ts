// TypeScript client of the Sandrun REST API (used by the CLI, the MCP server and the benchmark):
// submit a bundle with a manifest, read status (or wait for the end), stream logs, list and
// download outputs. Every failure is a SandrunClientError with a code saying what to do.
import { randomBytes } from 'node:crypto'
import { errorFromResponse, SandrunClientError } from './clientError.ts'
import { streamLogs, type LogStreamMessage } from './streamLogs.ts'

export type JobState = 'queued' | 'running' | 'completed' | 'failed'

export type OutputFileBody = { path: string; size_bytes: number; sha256_hash: string; type: 'file' }

export type JobStatusBody = {
  job_id: string
  status: JobState
  position: number
  submitted_at: string
  started_at: string | null
  finished_at: string | null
  expires_at: string
  execution_metadata: {
    cpu_seconds: number
    memory_peak_bytes: number
    exit_code: number | null
    environment: string
    wall_time_ms: number
    termination: string
  } | null
  job_hash: string | null
  output_files: Record<string, OutputFileBody>
  worker_metadata: { worker_id: string; signature: string } | null
  error?: string
}

export type SubmitParameters = {
  /** The job as a gzip tar (see packFiles / packDirectory). */
  bundle: Uint8Array
  /** The manifest; leave out to use job.json inside the bundle. */
  manifest?: Record<string, unknown> | undefined
  /** Called as the upload goes out: bytes sent so far and the total. */
  onUploadProgress?: ((sent: number, total: number) => void) | undefined
  signal?: AbortSignal | undefined
}

export type SubmitReturnType = { job_id: string; status: JobState; position: number }

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

const uploadChunkBytes = 256 * 1024

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

/** A request body that reports how much of it has been read by the HTTP stack. */
function progressStream(body: Buffer, onProgress: (sent: number, total: number) => void): ReadableStream<Uint8Array> {
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= body.length) {
        controller.close()
        return
      }
      const chunk = body.subarray(offset, offset + uploadChunkBytes)
      offset += chunk.length
      controller.enqueue(chunk)
      onProgress(offset, body.length)
    },
  })
}

export function createSandrunClient({ baseUrl }: SandrunClientOptions) {
  const root = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`
  const url = (path: string): string => new URL(path, root).toString()
  const id = (jobId: string): string => encodeURIComponent(jobId)

  const request = async (path: string, init: RequestInit = {}): Promise<Response> => {
    let response: Response
    try {
      response = await fetch(url(path), init)
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error
      throw new SandrunClientError('UNREACHABLE', `Cannot reach the gateway at ${root}; is \`sandrun serve\` running there?`, { cause: error })
    }
    if (!response.ok) throw await errorFromResponse(response)
    return response
  }
  const json = async <T>(path: string, init?: RequestInit): Promise<T> => (await (await request(path, init)).json()) as T

  const client = {
    baseUrl: root,

    async submit({ bundle, manifest, onUploadProgress, signal }: SubmitParameters): Promise<SubmitReturnType> {
      const { body, contentType } = multipart(bundle, manifest)
      const headers = { 'content-type': contentType, 'content-length': String(body.length) }
      const init: RequestInit & { duplex?: 'half' } = onUploadProgress
        ? { method: 'POST', headers, body: progressStream(body, onUploadProgress), duplex: 'half', signal }
        : { method: 'POST', headers, body, signal }
      return json<SubmitReturnType>('submit', init)
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

    logs(jobId: string): Promise<{ stdout: string; stderr: string; stdout_truncated: boolean; stderr_truncated: boolean }> {
      return json(`logs/${id(jobId)}?format=json`)
    },

    streamLogs(jobId: string, { signal }: { signal?: AbortSignal } = {}): AsyncGenerator<LogStreamMessage> {
      return streamLogs({ baseUrl: root, jobId, signal })
    },

    outputs(jobId: string): Promise<{ job_id: string; outputs: OutputFileBody[] }> {
      return json(`outputs/${id(jobId)}`)
    },

    /** One output file's bytes (the gateway deletes the job once every output was downloaded). */
    async download(jobId: string, path: string): Promise<Buffer> {
      const encoded = path.split('/').map(encodeURIComponent).join('/')
      return Buffer.from(await (await request(`download/${id(jobId)}/${encoded}`)).arrayBuffer())
    },

    /** All outputs as one tar.gz. */
    async downloadAll(jobId: string): Promise<Buffer> {
      return Buffer.from(await (await request(`download/${id(jobId)}`)).arrayBuffer())
    },

    async delete(jobId: string): Promise<void> {
      await request(`jobs/${id(jobId)}`, { method: 'DELETE' })
    },

    stats: () => json<{ your_quota: Record<string, unknown>; system: Record<string, number> }>('stats'),
    health: () => json<{ status: string; worker_id: string; mode: string }>('health'),
    environments: () => json<{ templates: string[]; interpreters: Array<{ name: string; version: string | null }> }>('environments'),
  }
  return client
}

export type { LogStreamMessage }

/** Where `sandrun serve` listens by default. */
export const defaultGatewayUrl = 'http://127.0.0.1:8443'
