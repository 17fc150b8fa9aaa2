// `/sandrun/exec/1.0.0` (pool mode; docs/network.md, "Pool mode"): a gateway hands an allowlisted worker one job
// (manifest and bundle) and reads back its live output, then the result entries, the files and the
// worker's signature over the root. Workers serve it only to the gateways they trust.
import type { Connection } from '@libp2p/interface'
import { type ErrorCodeTable, errorMessageOf, hostError, SandrunError } from '../../errors/index.ts'
import { dialTarget, type PeerTarget } from './dialTarget.ts'
import { P2pError } from './errors.ts'
import { FramedStream } from './framedStream.ts'
import { LogFeed } from './logFeed.ts'
import { operationSignal, toP2pError } from './operationSignal.ts'
import { protocolHandler, raceKeepalive, readContent, sha256Pattern, type P2pNode } from './protocolStreams.ts'
import { jobIdPattern, type JobResultPayload, type ResultEntrySummary } from './resultService.ts'
import { gatewayJobId, type GatewayJobId, type OutputStream } from '../../verifier/index.ts'
import { execProtocol } from './protocols.ts'


/** Why a worker refused a job before running it; the gateway tries another worker. */
export type ExecRefusalCode = 'FORBIDDEN' | 'BUSY' | 'BAD_REQUEST' | 'INTERNAL'

export type ExecExecution = {
  exitCode: number | null
  termination: string
  cpuSeconds: number
  memoryPeakBytes: number
  wallTimeMs: number
  stdoutTruncated: boolean
  stderrTruncated: boolean
}

export type ExecResult = JobResultPayload & {
  execution: ExecExecution
  /** `worker_metadata`: the worker's id and its signature over the result root. */
  worker: { workerId: string; signature: string }
}

export type ExecOutcome =
  | { type: 'result'; result: ExecResult }
  /** The run failed; `userError` = the job's own fault (do not retry), else the worker's host failed. */
  | { type: 'failed'; code: string; message: string; userError: boolean }
  | { type: 'refused'; code: ExecRefusalCode; message: string }

export type ExecRunParameters = {
  jobId: GatewayJobId
  manifest: Record<string, unknown>
  bundle: Uint8Array
  onOutput(stream: OutputStream, chunk: Uint8Array): void
  signal: AbortSignal
}

export type ExecServiceInit = {
  /** Serving side (workers): runs one job and answers its result or failure. Omit on gateways. */
  run?: (parameters: ExecRunParameters) => Promise<Exclude<ExecOutcome, { type: 'refused' }>>
  /** Serving side: may this peer (string peer id) send jobs? Default: nobody. */
  allowPeer?: (peerId: string) => boolean
  /** Serving side: reserves a job slot; undefined = full (answered BUSY). Returns the release. */
  reserve?: () => (() => void) | undefined
  keepaliveMs?: number
  maxBundleBytes?: number
  maxResultBytes?: number
  maxInboundStreams?: number
}

export const defaultExecOptions = {
  // Frequent enough that a silent worker is noticed within seconds (idle timeout = 3 keepalives).
  keepaliveMs: 5000,
  // The gateway's upload cap.
  maxBundleBytes: 100 * 1024 * 1024,
  // Outputs live on a 100 MB tmpfs; stdout and stderr captures come on top.
  maxResultBytes: 256 * 1024 * 1024,
  // Enough for every job slot a worker could be given, plus refusals in flight.
  maxInboundStreams: 64,
  // The longest wall timeout (3600 s) plus set-up and transfer.
  maxJobMs: 2 * 3600_000,
  // A manifest is capped at 64 KiB by the gateway; the request frame carries it plus a few fields.
  maxRequestBytes: 128 * 1024,
  chunkBytes: 256 * 1024,
} as const

export type DispatchParameters = {
  peer: PeerTarget
  jobId: GatewayJobId
  manifest: Record<string, unknown>
  bundle: Uint8Array
  onOutput?: ((stream: OutputStream, chunk: Uint8Array) => void) | undefined
  signal?: AbortSignal | undefined
  /** Whole call, run included (default: the longest job). */
  timeoutMs?: number | undefined
}

export type ExecService = {
  readonly protocol: string
  start(): Promise<void>
  stop(): Promise<void>
  /** Sends a job and waits for its outcome; throws P2pError when the worker or the stream fails. */
  dispatch(parameters: DispatchParameters): Promise<ExecOutcome>
}

const streamTag = { stdout: 1, stderr: 2 } as const

/** Answered to the gateway peer over the stream, never to an HTTP client. */
const execRefusalCodes: ErrorCodeTable<ExecRefusalCode> = { FORBIDDEN: hostError, BUSY: hostError, BAD_REQUEST: hostError, INTERNAL: hostError }

class ExecRefusal extends SandrunError<ExecRefusalCode> {
  override name = 'ExecRefusal'

  constructor(code: ExecRefusalCode, message: string) {
    super(code, message, execRefusalCodes)
  }
}

export function execService(init: ExecServiceInit) {
  return (node: P2pNode): ExecService => createExecService(node, init)
}

function createExecService(node: P2pNode, init: ExecServiceInit): ExecService {
  const keepaliveMs = init.keepaliveMs ?? defaultExecOptions.keepaliveMs
  const maxBundleBytes = init.maxBundleBytes ?? defaultExecOptions.maxBundleBytes
  const maxResultBytes = init.maxResultBytes ?? defaultExecOptions.maxResultBytes
  const { chunkBytes, maxRequestBytes, maxJobMs } = defaultExecOptions
  const run = init.run

  const serve = async (framed: FramedStream, connection: Connection, signal: AbortSignal): Promise<void> => {
    if (!(init.allowPeer?.(connection.remotePeer.toString()) ?? false)) {
      throw new ExecRefusal('FORBIDDEN', 'this worker takes jobs only from the gateways it was started with (--bootstrap)')
    }
    let request: Record<string, unknown>
    try {
      request = await framed.readJson('an exec request', { maxLength: maxRequestBytes, signal })
    } catch (error) {
      if (error instanceof P2pError) throw new ExecRefusal('BAD_REQUEST', error.shortMessage)
      throw error
    }
    const { manifest, bundleSize } = request
    if (typeof request.jobId !== 'string' || !jobIdPattern.test(request.jobId)) throw new ExecRefusal('BAD_REQUEST', 'jobId must be 1-128 characters of [A-Za-z0-9_-]')
    const jobId = gatewayJobId(request.jobId)
    if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw new ExecRefusal('BAD_REQUEST', 'manifest must be a JSON object')
    if (typeof bundleSize !== 'number' || !Number.isSafeInteger(bundleSize) || bundleSize < 1 || bundleSize > maxBundleBytes) {
      throw new ExecRefusal('BAD_REQUEST', `bundleSize must be 1-${maxBundleBytes} bytes`)
    }
    const release = init.reserve?.()
    if (!release) throw new ExecRefusal('BUSY', 'every job slot of this worker is taken')
    try {
      const bundle = await readContent(framed, bundleSize, 'the bundle', signal)
      await framed.writeJson({ ok: true }, signal)
      const feed = new LogFeed({ maxLagBytes: 8 * 1024 * 1024 })
      const outcome = run!({ jobId, manifest: manifest as Record<string, unknown>, bundle, onOutput: (stream, chunk) => feed.append(stream, chunk), signal })
        .catch((error: unknown) => ({ type: 'failed' as const, code: 'INTERNAL', message: errorMessageOf(error) ?? String(error), userError: false }))
        .finally(() => feed.end({}))
      const events = feed.subscribe(signal)[Symbol.asyncIterator]()
      let next = events.next()
      for (;;) {
        const step = await raceKeepalive(next, keepaliveMs)
        if (step === 'keepalive') {
          await framed.writeJson({ t: 'keepalive' }, signal)
          continue
        }
        if (step.done || step.value.type === 'end') break
        next = events.next()
        const event = step.value
        if (event.type === 'gap') await framed.writeJson({ t: 'gap', droppedBytes: event.droppedBytes }, signal)
        else await writeChunk(framed, event.stream, event.data, chunkBytes, signal)
      }
      await writeOutcome(framed, await outcome, chunkBytes, signal)
    } finally {
      release()
    }
  }

  // The run stops when the gateway goes away (job cancelled, gateway gone) or the deadline passes.
  const handler = protocolHandler(serve, { timeoutMs: maxJobMs, stopWhenClosed: true, isRefusal: (error): error is ExecRefusal => error instanceof ExecRefusal })

  return {
    protocol: execProtocol,
    async start() {
      if (run === undefined) return
      await node.handle(execProtocol, handler, { maxInboundStreams: init.maxInboundStreams ?? defaultExecOptions.maxInboundStreams })
    },
    async stop() {
      if (run !== undefined) await node.unhandle(execProtocol)
    },
    async dispatch({ peer, jobId, manifest, bundle, onOutput, signal, timeoutMs = maxJobMs }) {
      if (!jobIdPattern.test(jobId)) throw new P2pError('INVALID_ARGUMENT', `Job id "${jobId}" must be 1-128 characters of [A-Za-z0-9_-].`)
      const what = `job ${jobId} on the worker`
      const op = operationSignal({ signal, timeoutMs })
      let framed: FramedStream | undefined
      let idle: AbortSignal | undefined
      try {
        const stream = await node.dialProtocol(dialTarget(peer), execProtocol, { signal: op.signal })
        framed = new FramedStream(stream)
        await framed.writeJson({ v: 1, jobId, manifest, bundleSize: bundle.byteLength }, op.signal)
        for (let offset = 0; offset < bundle.byteLength; offset += chunkBytes) await framed.writeBytes(bundle.subarray(offset, offset + chunkBytes), op.signal)
        const answer = await framed.readJson(`the answer to ${what}`, { maxLength: 4096, signal: op.signal })
        if (answer.ok !== true) {
          const code = (['FORBIDDEN', 'BUSY', 'BAD_REQUEST', 'INTERNAL'] as const).find((c) => c === answer.code) ?? 'INTERNAL'
          return { type: 'refused', code, message: typeof answer.message === 'string' ? answer.message.slice(0, 500) : '' }
        }
        for (;;) {
          // A worker sends a keepalive every few seconds; three missed ones mean it is gone.
          idle = AbortSignal.any([op.signal, AbortSignal.timeout(3 * keepaliveMs)])
          const frame = await framed.readFrame({ maxLength: chunkBytes + 1, signal: idle })
          if (frame === undefined) throw new P2pError('STREAM_FAILED', `The worker closed the stream of ${what} before its result; run it elsewhere.`)
          if (frame.kind === 'bytes') {
            const tag = frame.data[0]
            if (tag !== streamTag.stdout && tag !== streamTag.stderr) throw new P2pError('PROTOCOL_VIOLATION', `The worker sent output for an unknown stream in ${what}.`)
            onOutput?.(tag === streamTag.stdout ? 'stdout' : 'stderr', frame.data.subarray(1))
            continue
          }
          const { t } = frame.value
          if (t === 'keepalive' || t === 'gap') continue
          if (t === 'failed') {
            const { code, message, userError } = frame.value
            await framed.close(op.signal).catch(() => undefined)
            return { type: 'failed', code: String(code).slice(0, 64), message: typeof message === 'string' ? message.slice(0, 1000) : '', userError: userError === true }
          }
          if (t === 'result') {
            const result = await readResult(framed, frame.value, maxResultBytes, op.signal)
            await framed.close(op.signal).catch(() => undefined)
            return { type: 'result', result }
          }
          throw new P2pError('PROTOCOL_VIOLATION', `The worker sent a malformed message in ${what}.`)
        }
      } catch (error) {
        const failure =
          idle?.aborted && !op.signal.aborted
            ? new P2pError('TIMEOUT', `The worker went silent while running ${what} (no keepalive for ${3 * keepaliveMs} ms); run it elsewhere.`)
            : toP2pError(error, `Running ${what}`, op)
        framed?.abort(failure)
        throw failure
      } finally {
        framed?.dispose()
      }
    },
  }
}

async function writeChunk(framed: FramedStream, stream: OutputStream, data: Uint8Array, chunkBytes: number, signal: AbortSignal): Promise<void> {
  for (let offset = 0; offset < data.byteLength; offset += chunkBytes) {
    const piece = data.subarray(offset, offset + chunkBytes)
    const frame = new Uint8Array(piece.byteLength + 1)
    frame[0] = streamTag[stream]
    frame.set(piece, 1)
    await framed.writeBytes(frame, signal)
  }
}

async function writeOutcome(framed: FramedStream, outcome: Exclude<ExecOutcome, { type: 'refused' }>, chunkBytes: number, signal: AbortSignal): Promise<void> {
  if (outcome.type === 'failed') {
    await framed.writeJson({ t: 'failed', code: outcome.code, message: outcome.message, userError: outcome.userError }, signal)
    return
  }
  const { entries, files, execution, worker } = outcome.result
  await framed.writeJson({ t: 'result', entries, execution, worker: { worker_id: worker.workerId, signature: worker.signature }, files: files.length }, signal)
  for (const file of files) {
    await framed.writeJson({ name: file.name, size: file.content.byteLength }, signal)
    for (let offset = 0; offset < file.content.byteLength; offset += chunkBytes) await framed.writeBytes(file.content.subarray(offset, offset + chunkBytes), signal)
  }
}

async function readResult(framed: FramedStream, header: Record<string, unknown>, maxResultBytes: number, signal: AbortSignal): Promise<ExecResult> {
  const bad = (what: string): P2pError => new P2pError('PROTOCOL_VIOLATION', `The worker sent a result with ${what}.`)
  const entries = header.entries
  if (!Array.isArray(entries) || entries.length > 10_000) throw bad('no entry list')
  const parsed: ResultEntrySummary[] = entries.map((entry: unknown) => {
    const { name, sha256, size } = (entry ?? {}) as Record<string, unknown>
    if (typeof name !== 'string' || name.length === 0 || name.length > 4096 || typeof sha256 !== 'string' || !sha256Pattern.test(sha256) || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw bad('a malformed entry (name, sha256 0x-hex, size)')
    }
    return { name, sha256, size }
  })
  const execution = parseExecution(header.execution)
  if (!execution) throw bad('malformed execution metadata')
  const worker = header.worker as Record<string, unknown> | undefined
  if (typeof worker?.worker_id !== 'string' || typeof worker.signature !== 'string') throw bad('no worker_metadata')
  const fileCount = header.files
  if (typeof fileCount !== 'number' || !Number.isSafeInteger(fileCount) || fileCount < 0 || fileCount > parsed.length) throw bad('an invalid file count')
  const names = new Set(parsed.map((e) => e.name))
  const files: ExecResult['files'] = []
  let total = 0
  for (let i = 0; i < fileCount; i++) {
    const { name, size } = await framed.readJson('a result file header', { maxLength: 8192, signal })
    if (typeof name !== 'string' || !names.delete(name)) throw bad('a file that is not in its entries, or twice')
    if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw bad(`an invalid size for ${name}`)
    total += size
    if (total > maxResultBytes) throw new P2pError('TOO_LARGE', `The result is over this gateway's cap of ${maxResultBytes} bytes; raise maxResultBytes to accept it.`)
    files.push({ name, content: size === 0 ? new Uint8Array() : await readContent(framed, size, name, signal) })
  }
  return { entries: parsed, files, execution, worker: { workerId: worker.worker_id.slice(0, 100), signature: worker.signature.slice(0, 200) } }
}

function parseExecution(value: unknown): ExecExecution | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const v = value as Record<string, unknown>
  const finite = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0
  if (!(v.exitCode === null || (typeof v.exitCode === 'number' && Number.isInteger(v.exitCode)))) return undefined
  if (typeof v.termination !== 'string' || !finite(v.cpuSeconds) || !finite(v.memoryPeakBytes) || !finite(v.wallTimeMs)) return undefined
  return {
    exitCode: v.exitCode as number | null,
    termination: v.termination.slice(0, 64),
    cpuSeconds: v.cpuSeconds,
    memoryPeakBytes: v.memoryPeakBytes,
    wallTimeMs: v.wallTimeMs,
    stdoutTruncated: v.stdoutTruncated === true,
    stderrTruncated: v.stderrTruncated === true,
  }
}
