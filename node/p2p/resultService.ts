// `/sandrun/result/1.0.0`: fetch a job's result from the worker that ran it: the entry list
// (name, sha256, size) and the content of each file. The client only checks the wire format and
// size caps; whether the result is the agreed one is the caller's check (checkResultFiles against
// the entries, then the entries' root against the chain).
import type { ChainJobId } from '../../verifier/index.ts'
import type { PeerTarget } from './dialTarget.ts'
import { P2pError } from './errors.ts'
import type { FramedStream } from './framedStream.ts'
import { operationSignal, toP2pError } from './operationSignal.ts'
import { resultProtocol } from './protocols.ts'
import { openRequest, protocolHandler, readAnswer, readContent, readRequest, RemoteRefusal, sha256Pattern, type P2pNode } from './protocolStreams.ts'
import { decodeChainJobId } from './decodeChainJobId.ts'

export type ResultEntrySummary = {
  name: string
  /** sha256 of the content, 0x + 64 lowercase hex. */
  sha256: string
  size: number
}

export type JobResultPayload = {
  entries: ResultEntrySummary[]
  /** Content by entry name (exit, stdout, stderr, outputs/...); empty when asked for without files. */
  files: Array<{ name: string; content: Uint8Array }>
  /** The worker's signed execution report (untrusted JSON: check it with verifyExecutionReport). */
  execution?: unknown
}

export type ResultServiceInit = {
  /** Serves a finished job's result; undefined = unknown or not finished here. Omit on fetch-only nodes. */
  getResult?: (jobId: ChainJobId) => JobResultPayload | undefined | Promise<JobResultPayload | undefined>
  /** Every byte of a result went out; `claim` is the requester's signature the request carried, if any (node/market/resultClaim.ts). */
  onServed?: (jobId: ChainJobId, claim: string | null) => void
  maxResultBytes?: number
  maxEntries?: number
  fetchTimeoutMs?: number
  serveTimeoutMs?: number
  maxInboundStreams?: number
}

export const defaultResultOptions = {
  // Outputs live on a 100 MB tmpfs; stdout and stderr captures come on top.
  maxResultBytes: 256 * 1024 * 1024,
  // Far more files than a job's outputs glob should ever collect; bounds the entry list frame.
  maxEntries: 10_000,
  fetchTimeoutMs: 180_000,
  serveTimeoutMs: 180_000,
  // Gateways fetch each result once, with a retry or two.
  maxInboundStreams: 4,
  chunkBytes: 256 * 1024,
} as const

export type FetchResultParameters = {
  peer: PeerTarget
  jobId: ChainJobId
  /** The requester's claim (node/market/resultClaim.ts): the worker may delete the result once served. */
  claim?: string | undefined
  signal?: AbortSignal
  timeoutMs?: number
  /** false: only the entries and the execution report, no file contents. Default true. */
  withFiles?: boolean
}

export type FetchResultReturnType = JobResultPayload

export type ResultService = {
  readonly protocol: string
  start(): Promise<void>
  stop(): Promise<void>
  fetch(parameters: FetchResultParameters): Promise<FetchResultReturnType>
}

/** Job ids: decimal chain ids in market mode, gateway ids in pool mode; never paths or free text. */
export const jobIdPattern = /^[A-Za-z0-9_-]{1,128}$/
const claimPattern = /^0x[0-9a-fA-F]{130}$/

export function resultService(init: ResultServiceInit) {
  return (node: P2pNode): ResultService => createResultService(node, init)
}

function createResultService(node: P2pNode, init: ResultServiceInit): ResultService {
  const maxResultBytes = init.maxResultBytes ?? defaultResultOptions.maxResultBytes
  const maxEntries = init.maxEntries ?? defaultResultOptions.maxEntries
  const { chunkBytes } = defaultResultOptions
  const getResult = init.getResult
  // A name is at most ~4 KiB and a sum 66 chars; this bounds the entry list frame.
  const maxEntriesFrame = maxEntries * 4300 + 1024

  const handler = protocolHandler(async (framed, _connection, signal) => {
    const request = await readRequest(framed, signal)
    const jobId = typeof request.jobId === 'string' ? request.jobId : ''
    if (!jobIdPattern.test(jobId)) throw new RemoteRefusal('BAD_REQUEST', 'jobId must be 1-128 characters of [A-Za-z0-9_-]')
    const claim = request.claim === undefined ? null : request.claim
    if (claim !== null && (typeof claim !== 'string' || !claimPattern.test(claim))) throw new RemoteRefusal('BAD_REQUEST', 'claim must be a 65-byte signature as 0x hex')
    const id = decodeChainJobId(jobId)
    const result = id === null ? undefined : await getResult?.(id)
    if (id === null || result === undefined) throw new RemoteRefusal('NOT_FOUND', 'no finished result for this job here')
    // `files: false` asks for the entries and the execution report only (a gateway collecting every worker's report).
    const files = request.files === false ? [] : result.files
    await framed.writeJson({ ok: true, entries: result.entries, files: files.length, ...(result.execution !== undefined ? { execution: result.execution } : {}) }, signal)
    for (const file of files) {
      await framed.writeJson({ name: file.name, size: file.content.byteLength }, signal)
      for (let offset = 0; offset < file.content.byteLength; offset += chunkBytes) {
        await framed.writeBytes(file.content.subarray(offset, offset + chunkBytes), signal)
      }
    }
    init.onServed?.(id, claim)
  }, init.serveTimeoutMs ?? defaultResultOptions.serveTimeoutMs)

  return {
    protocol: resultProtocol,
    async start() {
      if (getResult === undefined) return
      await node.handle(resultProtocol, handler, { maxInboundStreams: init.maxInboundStreams ?? defaultResultOptions.maxInboundStreams })
    },
    async stop() {
      if (getResult !== undefined) await node.unhandle(resultProtocol)
    },
    async fetch({ peer, jobId, claim, signal, timeoutMs = init.fetchTimeoutMs ?? defaultResultOptions.fetchTimeoutMs, withFiles = true }) {
      const op = operationSignal({ signal, timeoutMs })
      const what = `the result of job ${jobId}`
      let framed: FramedStream | undefined
      try {
        framed = await openRequest(node, peer, resultProtocol, { v: 1, jobId: jobId.toString(), ...(withFiles ? {} : { files: false }), ...(claim ? { claim } : {}) }, op.signal)
        const answer = await readAnswer(framed, what, maxEntriesFrame, op.signal)
        const entries = parseEntries(answer.entries, maxEntries)
        const fileCount = answer.files
        if (typeof fileCount !== 'number' || !Number.isSafeInteger(fileCount) || fileCount < 0 || fileCount > entries.length) {
          throw new P2pError('PROTOCOL_VIOLATION', `The peer declared an invalid file count for ${what}.`)
        }
        const names = new Set(entries.map((entry) => entry.name))
        const files: JobResultPayload['files'] = []
        let total = 0
        for (let i = 0; i < fileCount; i++) {
          const header = await framed.readJson(`a file header of ${what}`, { maxLength: 8192, signal: op.signal })
          const { name, size } = header
          if (typeof name !== 'string' || !names.has(name)) throw new P2pError('PROTOCOL_VIOLATION', `The peer sent a file that is not in the entries of ${what}, or twice.`)
          if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) throw new P2pError('PROTOCOL_VIOLATION', `The peer declared an invalid size for ${name}.`)
          names.delete(name)
          total += size
          if (total > maxResultBytes) {
            throw new P2pError('TOO_LARGE', `${what} is over this node's cap of ${maxResultBytes} bytes; raise maxResultBytes to accept it.`)
          }
          files.push({ name, content: await readContent(framed, size, name, op.signal) })
        }
        await framed.close(op.signal).catch(() => undefined)
        return { entries, files, ...(answer.execution !== undefined ? { execution: answer.execution } : {}) }
      } catch (error) {
        const failure = toP2pError(error, `Fetching ${what}`, op)
        framed?.abort(failure)
        throw failure
      } finally {
        framed?.dispose()
      }
    },
  }
}

function parseEntries(value: unknown, maxEntries: number): ResultEntrySummary[] {
  if (!Array.isArray(value) || value.length > maxEntries) {
    throw new P2pError('PROTOCOL_VIOLATION', `The peer's result entries are not a list of at most ${maxEntries}.`)
  }
  return value.map((entry: unknown) => {
    const { name, sha256, size } = (entry ?? {}) as Record<string, unknown>
    if (typeof name !== 'string' || name.length === 0 || name.length > 4096 || typeof sha256 !== 'string' || !sha256Pattern.test(sha256) || typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
      throw new P2pError('PROTOCOL_VIOLATION', 'The peer sent a malformed result entry (name, sha256 0x-hex, size).')
    }
    return { name, sha256, size }
  })
}
