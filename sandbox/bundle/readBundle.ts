// Streams a gzip tar through the safety checks, handing each accepted entry to a callback.
// Inflation is metered as it happens and stopped at the first cap, so a gzip bomb costs at most
// the caps' worth of work; backpressure keeps memory to a few stream buffers. Small bundles (most
// jobs) are read in one go instead, through the same checks.
import { once } from 'node:events'
import { createGunzip, type Gunzip } from 'node:zlib'
import * as tar from 'tar-stream'
import { SandboxError } from '../errors.ts'
import { type BundleLimits, formatBytes, resolveBundleLimits } from './bundleLimits.ts'
import { type BundleEntry, BundleTree } from './bundleTree.ts'
import { decodeSmallBundle, smallBundleBytes, type SmallBundleEntry } from './decodeSmallBundle.ts'

export type ReadBundleParameters = {
  /** The whole gzip tar as uploaded. */
  bundle: Uint8Array
  limits?: Partial<BundleLimits> | undefined
  /**
   * Called for each accepted entry in archive order. `content` yields a file's bytes; whatever the
   * callback leaves unread is discarded. Errors it throws end the read and are rethrown unchanged.
   */
  onEntry: (entry: BundleEntry, content: AsyncIterable<Buffer>) => Promise<void>
  /** Counts the bytes inflated (whether the bundle is accepted or not), so the work can be charged. */
  meter?: InflationMeter | undefined
}

export type InflationMeter = { inflatedBytes: number }

export type ReadBundleReturnType = {
  /** Regular files (hardlinks included) of the final tree, sorted. */
  files: string[]
  /** Sum of the entries' content sizes (uncompressed). */
  totalBytes: number
  entryCount: number
}

// Small slices keep the compressed input held by zlib small; output is paced by backpressure.
const feedChunkBytes = 16 * 1024
/** Worst-case tar bookkeeping per entry: header, pax or GNU long-name record, padding. */
const tarOverheadPerEntry = 6 * 1024

export async function readBundle({ bundle, limits, onEntry, meter }: ReadBundleParameters): Promise<ReadBundleReturnType> {
  const resolved = resolveBundleLimits(limits)
  const tree = new BundleTree(resolved)
  const gunzip = createGunzip()
  const extract = tar.extract()
  // Content is capped by the tree; this caps what is not content (headers, padding, zero blocks
  // after the end marker), which a bomb could otherwise use to inflate without limit.
  const inflatedCap = resolved.maxTotalBytes + resolved.maxEntries * tarOverheadPerEntry + 1024 * 1024
  // Below both inflation caps neither can trip, so the verdict is the streaming path's.
  const small = decodeSmallBundle(bundle, Math.min(smallBundleBytes, resolved.ratioThresholdBytes, inflatedCap))
  if (small) {
    if (meter) for (const { content } of small) meter.inflatedBytes += 512 + Math.ceil(content.length / 512) * 512
    return readSmallBundle(small, tree, onEntry)
  }
  let inflated = 0
  const state: ReadState = { failure: null, parserError: null }
  const fail = (error: SandboxError): void => {
    if (state.failure) return
    state.failure = error
    gunzip.destroy()
    extract.destroy(error)
  }

  gunzip.on('data', (chunk: Buffer) => {
    inflated += chunk.byteLength
    if (meter) meter.inflatedBytes += chunk.byteLength
    if (inflated > inflatedCap)
      return fail(
        new SandboxError('BUNDLE_TOO_LARGE', `The bundle inflates to more than ${formatBytes(inflatedCap)}.`, {
          details: `Stopped after inflating ${inflated} bytes. Leave large data out of the bundle.`,
        }),
      )
    if (inflated > resolved.ratioThresholdBytes && inflated > resolved.maxCompressionRatio * bundle.byteLength)
      return fail(
        new SandboxError(
          'BUNDLE_TOO_LARGE',
          `The bundle inflates more than ${resolved.maxCompressionRatio} times its compressed size (a gzip bomb?).`,
          {
            details: `Stopped after inflating ${inflated} bytes from ${bundle.byteLength} compressed bytes. Do not pad files with repeated data.`,
          },
        ),
      )
    if (!extract.write(chunk)) gunzip.pause()
  })
  extract.on('error', (error: Error) => {
    state.parserError ??= error
  })
  extract.on('drain', () => gunzip.resume())
  // streamx types demand an argument; undefined ends the stream without writing.
  gunzip.on('end', () => extract.end(undefined))
  gunzip.on('error', (error) => fail(gzipError(error)))
  void feed(bundle, gunzip)

  try {
    for await (const stream of extract) {
      const entry = tree.add(stream.header)
      if (entry) {
        try {
          await onEntry(entry, content(stream as AsyncIterable<Buffer>, state))
        } catch (error) {
          throw new CallerError(error)
        }
      }
      // The parser only moves on once the entry's bytes are consumed.
      for await (const _ of stream) void _
    }
    tree.finish()
  } catch (error) {
    // A cap tripped mid-entry also breaks the caller's read; the cap is the real reason.
    if (state.failure) throw state.failure
    if (error instanceof CallerError) throw error.error
    throw tarError(error)
  } finally {
    gunzip.destroy()
    extract.destroy(null)
  }
  if (state.failure) throw state.failure
  return { files: tree.files(), totalBytes: tree.totalBytes, entryCount: tree.entryCount }
}

/** The streaming path's loop over entries already in memory, with the same error handling. */
async function readSmallBundle(entries: SmallBundleEntry[], tree: BundleTree, onEntry: ReadBundleParameters['onEntry']): Promise<ReadBundleReturnType> {
  try {
    for (const { header, content } of entries) {
      const entry = tree.add(header)
      if (!entry) continue
      try {
        await onEntry(entry, contentOf(content))
      } catch (error) {
        throw new CallerError(error)
      }
    }
    tree.finish()
  } catch (error) {
    if (error instanceof CallerError) throw error.error
    throw tarError(error)
  }
  return { files: tree.files(), totalBytes: tree.totalBytes, entryCount: tree.entryCount }
}

async function* contentOf(content: Buffer): AsyncIterable<Buffer> {
  if (content.length > 0) yield content
}

/**
 * The entry's bytes, with read failures turned into the bundle's fault: a truncated archive must
 * not look like a disk error just because it broke while the caller was writing.
 */
async function* content(stream: AsyncIterable<Buffer>, state: ReadState): AsyncIterable<Buffer> {
  try {
    yield* stream
  } catch (error) {
    // The entry only sees "stream destroyed"; the parser's reason is emitted on the next ticks.
    if (!state.failure && !state.parserError) await new Promise((resolve) => setImmediate(resolve))
    throw state.failure ?? tarError(state.parserError ?? error)
  }
}

type ReadState = {
  /** A cap or gzip failure: takes precedence over anything it causes downstream. */
  failure: SandboxError | null
  /** The tar parser's own error (truncated, bad header). */
  parserError: Error | null
}

/** Marks an error thrown by `onEntry`, which is passed through untouched. */
class CallerError {
  constructor(readonly error: unknown) {}
}

/** Writes the bundle into gunzip in slices, respecting backpressure, until done or destroyed. */
async function feed(bundle: Uint8Array, gunzip: Gunzip): Promise<void> {
  const closed = once(gunzip, 'close').catch(() => undefined)
  for (let offset = 0; offset < bundle.byteLength; offset += feedChunkBytes) {
    if (gunzip.destroyed) return
    if (!gunzip.write(bundle.subarray(offset, offset + feedChunkBytes)))
      await Promise.race([once(gunzip, 'drain').catch(() => undefined), closed])
  }
  if (!gunzip.destroyed) gunzip.end()
}

function gzipError(error: Error & { code?: string }): SandboxError {
  if (error.code === 'Z_BUF_ERROR')
    return new SandboxError('BUNDLE_INVALID', 'The bundle is truncated: the gzip stream ends early.', {
      details: 'Upload the complete .tar.gz file.',
      cause: error,
    })
  if (/incorrect header check/i.test(error.message))
    return new SandboxError('BUNDLE_INVALID', 'The bundle is not gzip-compressed.', {
      details: 'Upload a gzip tar, e.g. made with `tar -czf bundle.tar.gz -C project .`.',
      cause: error,
    })
  return new SandboxError('BUNDLE_INVALID', 'The bundle is not valid gzip data (corrupt stream).', {
    details: 'Upload an intact .tar.gz file.',
    cause: error,
  })
}

function tarError(error: unknown): SandboxError {
  if (error instanceof SandboxError) return error
  const message = error instanceof Error ? error.message : String(error)
  if (/unexpected end/i.test(message))
    return new SandboxError('BUNDLE_INVALID', 'The bundle is truncated: the tar archive ends in the middle of an entry.', {
      details: 'Upload the complete archive.',
      cause: error,
    })
  return new SandboxError('BUNDLE_INVALID', 'The bundle is gzip data but not a tar archive.', {
    details: 'Upload a gzip tar, e.g. made with `tar -czf bundle.tar.gz -C project .`.',
    cause: error,
  })
}
