// The canonical form of a result's entry list, the part of the commitment every worker must agree
// on byte for byte: entry names checked, sums normalized, entries sorted by the UTF-8 bytes of their
// names, and each entry's leaf data encoded as docs/verify.md, "What is committed", defines it.
import { VerifierError } from './errors.ts'
import { bytesToHex, hexToBytes, normalizeSha256, type Hex } from './hex.ts'

/** What a result entry says about its content: the content itself never enters the commitment. */
export type ResultEntryInput = {
  /** `exit`, `stdout`, `stderr` or `outputs/<path relative to /work>`. */
  name: string
  /** sha256 of the content; 0x-prefixed or bare hex. */
  sha256: string
  /** Content length in bytes. */
  size: number
}

export type ResultEntry = {
  name: string
  /** sha256 of the content, 0x + lowercase hex. */
  sha256: Hex
  size: number
  /** u32be(len(name)) || name (UTF-8) || sha256(content) || u64be(size), as hex. */
  leafData: Hex
}

/** Entries every result has; without them a list is not a result. */
export const requiredResultEntryNames = ['exit', 'stdout', 'stderr'] as const

const outputsPrefix = 'outputs/'

function invalidName(name: string, why: string): VerifierError {
  return new VerifierError('RESULT_INVALID', `Result entry name ${JSON.stringify(name)} ${why}.`, {
    details: 'names are exit, stdout, stderr or outputs/<relative path with / separators and no . or .. parts>',
  })
}

/** UTF-8 bytes of a valid entry name; throws for anything two workers could spell differently. */
function encodeName(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8')
  // Lone surrogates encode to U+FFFD, so two different strings could share one leaf.
  if (bytes.toString('utf8') !== name) throw invalidName(name, 'is not well-formed Unicode')
  if ((requiredResultEntryNames as readonly string[]).includes(name)) return bytes
  if (!name.startsWith(outputsPrefix)) throw invalidName(name, 'is unknown')
  const segments = name.slice(outputsPrefix.length).split('/')
  if (segments.some((s) => s === '' || s === '.' || s === '..' || s.includes('\0'))) {
    throw invalidName(name, 'is not a clean relative path')
  }
  return bytes
}

/** Checks one entry and encodes its leaf data: u32be(len(name)) || name || sha256 || u64be(size). */
export function resultEntry(entry: ResultEntryInput): ResultEntry {
  if (!Number.isSafeInteger(entry.size) || entry.size < 0) {
    throw new VerifierError('RESULT_INVALID', `Size of result entry ${JSON.stringify(entry.name)} must be a whole number of bytes >= 0.`, {
      details: `got ${entry.size}`,
    })
  }
  const nameBytes = encodeName(entry.name)
  const sha256 = normalizeSha256(entry.sha256, `sha256 of result entry ${JSON.stringify(entry.name)}`)
  const head = Buffer.alloc(4)
  head.writeUInt32BE(nameBytes.length)
  const tail = Buffer.alloc(8)
  tail.writeBigUInt64BE(BigInt(entry.size))
  const leafData = Buffer.concat([head, nameBytes, hexToBytes(sha256, { length: 32, what: 'content sha256' }), tail])
  return { name: entry.name, sha256, size: entry.size, leafData: bytesToHex(leafData) }
}

/**
 * Checks entries and returns them in commitment order with their leaf data. Order of the input does
 * not matter; a duplicate name, a missing exit/stdout/stderr, a bad sum or size throws RESULT_INVALID.
 */
export function canonicalResultEntries(entries: readonly ResultEntryInput[]): ResultEntry[] {
  const checked = entries.map((entry) => ({ entry: resultEntry(entry), nameBytes: Buffer.from(entry.name, 'utf8') }))
  checked.sort((a, b) => Buffer.compare(a.nameBytes, b.nameBytes))
  for (let i = 1; i < checked.length; i++) {
    if (checked[i]!.nameBytes.equals(checked[i - 1]!.nameBytes)) {
      throw new VerifierError('RESULT_INVALID', `Result entry ${JSON.stringify(checked[i]!.entry.name)} appears twice; each name may appear once.`)
    }
  }
  for (const required of requiredResultEntryNames) {
    if (!checked.some(({ entry }) => entry.name === required)) {
      throw new VerifierError('RESULT_INVALID', `The result has no "${required}" entry; every result has exit, stdout and stderr.`)
    }
  }
  return checked.map(({ entry }) => entry)
}
