// Reads a small gzip tar in one go: a synchronous inflate and a walk over its 512-byte blocks,
// which for a job of a few files costs a fraction of setting up the streaming parser. It accepts
// only what it decodes exactly as tar-stream does (plain ustar/GNU headers of files, directories
// and links); anything else (long names, other entry types, a corrupt, truncated or oversized
// archive) is left to the streaming reader, which alone reports what is wrong with it.
import { gunzipSync } from 'node:zlib'
import type { TarHeader } from './bundleTree.ts'

export type SmallBundleEntry = { header: TarHeader; content: Buffer }

/**
 * Bundles inflating to at most this are worth reading this way: setting up the streaming parser
 * costs more than reading a few files, and holding the inflated tar or blocking the event loop
 * for it does not matter at this size.
 */
export const smallBundleBytes = 1024 * 1024

const blockBytes = 512
const emptyContent = Buffer.alloc(0)
const ustarMagic = Buffer.from('ustar\0', 'latin1')
const gnuMagic = Buffer.from('ustar  \0', 'latin1')
const typeOfFlag: Record<number, TarHeader['type'] | undefined> = { 0: 'file', 1: 'link', 2: 'symlink', 5: 'directory' }

/**
 * The archive's entries in order, or null when it inflates to more than `maxInflatedBytes` or holds
 * anything this decoder does not handle (then read it with the streaming parser).
 */
export function decodeSmallBundle(bundle: Uint8Array, maxInflatedBytes: number): SmallBundleEntry[] | null {
  if (bundle.byteLength === 0 || bundle.byteLength > maxInflatedBytes) return null
  let tar: Buffer
  try {
    tar = gunzipSync(bundle, { maxOutputLength: maxInflatedBytes })
  } catch {
    return null
  }
  const entries: SmallBundleEntry[] = []
  let offset = 0
  while (offset + blockBytes <= tar.length) {
    const block = tar.subarray(offset, offset + blockBytes)
    offset += blockBytes
    const sum = checksum(block)
    // An all-zero block (the end-of-archive marker): tar-stream skips it and reads on.
    if (sum === 8 * 32) continue
    const header = decodeHeader(block, sum)
    if (!header) return null
    // tar-stream reads no body after a directory header, whatever its size says.
    if (header.type === 'directory') {
      entries.push({ header, content: emptyContent })
      continue
    }
    const end = offset + header.size
    if (end > tar.length) return null
    entries.push({ header, content: tar.subarray(offset, end) })
    offset = end + ((blockBytes - (header.size % blockBytes)) % blockBytes)
  }
  // A partial block or a body cut off by the end: truncated, which the streaming reader reports.
  return offset === tar.length ? entries : null
}

/** tar-stream's header decoding, limited to the fields the bundle checks read. */
function decodeHeader(block: Buffer, sum: number): TarHeader | null {
  if (sum !== octal(block, 148, 8)) return null
  const ustar = block.subarray(257, 263).equals(ustarMagic)
  if (!ustar && !block.subarray(257, 265).equals(gnuMagic)) return null
  const type = typeOfFlag[block[156] === 0 ? 0 : block[156]! - 0x30]
  const size = octal(block, 124, 12)
  const mode = octal(block, 100, 8)
  if (type === undefined || size === null || mode === null || !Number.isSafeInteger(size) || size < 0) return null
  let name = text(block, 0, 100)
  if (ustar && block[345] !== 0) name = `${text(block, 345, 155)}/${name}`
  // Null when empty, as tar-stream gives it (its types say string).
  const linkname = (block[157] === 0 ? null : text(block, 157, 100)) as string
  return { name, type, size, mode, linkname }
}

function checksum(block: Buffer): number {
  let sum = 8 * 32
  for (let i = 0; i < 148; i++) sum += block[i]!
  for (let i = 156; i < blockBytes; i++) sum += block[i]!
  return sum
}

/** An octal field as tar-stream reads it; null for the base-256 form, which is left to it. */
function octal(block: Buffer, offset: number, length: number): number | null {
  let start = offset
  const limit = offset + length
  if (block[start]! & 0x80) return null
  while (start < limit && block[start] === 0x20) start++
  let end = block.indexOf(0x20, start)
  if (end < 0 || end > limit) end = limit
  while (start < end && block[start] === 0) start++
  if (end === start) return 0
  return parseInt(block.toString('utf8', start, end), 8)
}

function text(block: Buffer, offset: number, length: number): string {
  let end = block.indexOf(0, offset)
  if (end < 0 || end > offset + length) end = offset + length
  return block.toString('utf8', offset, end)
}
