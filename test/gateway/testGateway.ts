// Starts a real local-mode gateway (real sandbox, tmpfs storage in a fresh directory) for the
// gateway tests, plus helpers to build multipart submissions by hand.
import { mkdtemp, rm } from 'node:fs/promises'
import type { Sandbox } from '../../sandbox/sandbox.ts'
import type { Clock } from '../../node/clock/systemClock.ts'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { defaultGatewayOptions, resolveGatewayOptions, resolveLocalModeOptions, type ResolveGatewayOptionsParameters, type LocalModeOptions } from '../../node/gateway/config.ts'
import { createLocalGateway, type CreateLocalGatewayReturnType } from '../../node/gateway/createLocalGateway.ts'
import { hostSlowdown } from '../host/hostSlowdown.ts'

export type TestGatewayParameters = {
  gateway?: ResolveGatewayOptionsParameters
  local?: Partial<LocalModeOptions>
  /** Another sandbox (a fake) instead of the real one. */
  sandbox?: Sandbox
  clock?: Clock
}

export async function startTestGateway({ gateway = {}, local = {}, sandbox, clock }: TestGatewayParameters = {}): Promise<CreateLocalGatewayReturnType & { dataDir: string }> {
  const dataDir = await mkdtemp('/dev/shm/sandrun-gateway-test-')
  const started = await createLocalGateway({
    // An idle keep-alive socket lasts as long, relative to the host's speed, as on a real machine.
    gateway: resolveGatewayOptions({ port: 0, keepAliveTimeoutMs: defaultGatewayOptions.keepAliveTimeoutMs * hostSlowdown(), ...gateway, rateLimits: { concurrentJobs: 50, jobsPerHour: 10_000, cpuSecondsPerMinute: 1000, ...gateway.rateLimits } }),
    local: resolveLocalModeOptions({ dataDir, ...local }),
    sandbox,
    clock,
  })
  return {
    ...started,
    dataDir,
    async close() {
      await started.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
}

export type MultipartPart = { name: string; value: string | Buffer; filename?: string; contentType?: string }

/** A multipart/form-data body built byte by byte, so tests can send what no well-behaved client would. */
export function multipartBody(parts: MultipartPart[], boundary = 'sandrun-test-boundary'): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = []
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ''}`
    const type = part.contentType ?? (part.filename !== undefined ? 'application/gzip' : undefined)
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type ? `Content-Type: ${type}\r\n` : ''}\r\n`))
    chunks.push(Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value))
    chunks.push(Buffer.from('\r\n'))
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` }
}

/** The usual submission: a bundle part and a JSON manifest part. */
export async function jobSubmission(files: Record<string, string>, manifest: unknown): Promise<{ body: Buffer; contentType: string }> {
  const bundle = await packFiles(files)
  return multipartBody([
    { name: 'files', value: bundle, filename: 'job.tar.gz' },
    { name: 'manifest', value: JSON.stringify(manifest) },
  ])
}

export type CraftedEntry = { name: string; type?: 'file' | 'symlink' | 'link' | 'directory'; linkname?: string; content?: string }

/** A tar.gz with whatever entries a test wants, including ones packFiles would refuse to write. */
export async function craftedBundle(entries: CraftedEntry[]): Promise<Buffer> {
  const { default: tar } = await import('tar-stream')
  const { gzipSync } = await import('node:zlib')
  const pack = tar.pack()
  for (const entry of entries) {
    const type = entry.type ?? 'file'
    if (type === 'file') pack.entry({ name: entry.name, type, mode: 0o644 }, entry.content ?? '')
    else pack.entry({ name: entry.name, type, linkname: entry.linkname, size: 0, mode: 0o755 })
  }
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return gzipSync(Buffer.concat(chunks))
}

/** Sends raw bytes to the server and resolves with everything it answers until it closes the socket. */
export async function rawExchange(port: number, data: string | Buffer, { keepOpen = false }: { keepOpen?: boolean } = {}): Promise<string> {
  const net = await import('node:net')
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    socket.on('data', (chunk) => chunks.push(chunk))
    socket.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)))
    socket.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')))
    socket.write(data, () => {
      if (!keepOpen) socket.end()
    })
  })
}
