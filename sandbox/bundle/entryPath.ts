// Turns a raw tar entry name into a safe path relative to the extraction root, or refuses it.
// Only archive names appear in errors: users see these messages, host paths must never leak.
import { SandboxError } from '../errors.ts'
import { maxEntryNameBytes } from './bundleLimits.ts'

export type EntryPathParameters = {
  /** Name as stored in the archive (after pax / GNU long-name handling). */
  name: string
  maxDepth: number
  /** What the name is, for messages: "entry" or "hardlink target". */
  role?: string | undefined
}

/**
 * Returns the normalized path ('' for the root itself): no empty or `.` components, joined by `/`.
 * Refuses NUL bytes, over-long names, absolute paths and any `..` component (even one that would
 * stay inside: `a/../b` is never needed by a honest archive and is the classic traversal trick).
 */
export function entryPath({ name, maxDepth, role = 'entry' }: EntryPathParameters): string {
  if (name.includes('\0'))
    throw unsafe(`The ${role} name ${quoteEntryName(name)} contains a NUL byte.`, 'Rename the file before packing.')
  if (Buffer.byteLength(name) > maxEntryNameBytes)
    throw unsafe(
      `The ${role} name ${quoteEntryName(name)} is longer than ${maxEntryNameBytes} bytes.`,
      'Use shorter file names.',
    )
  if (name.startsWith('/'))
    throw unsafe(
      `The ${role} ${quoteEntryName(name)} has an absolute path.`,
      'Pack paths relative to the project folder (e.g. `tar -czf bundle.tar.gz -C project .`).',
    )
  const components = name.split('/').filter((c) => c !== '' && c !== '.')
  if (components.includes('..'))
    throw unsafe(
      `The ${role} ${quoteEntryName(name)} contains a \`..\` component.`,
      'Pack paths relative to the project folder, without `..`.',
    )
  if (components.length > maxDepth)
    throw new SandboxError(
      'BUNDLE_TOO_LARGE',
      `The ${role} ${quoteEntryName(name)} has ${components.length} path components; at most ${maxDepth} are allowed.`,
    )
  return components.join('/')
}

/** A name safe to print: JSON-quoted (control characters escaped) and cut to a readable length. */
export function quoteEntryName(name: string): string {
  const shown = name.length > 200 ? `${name.slice(0, 200)}…` : name
  return JSON.stringify(shown)
}

function unsafe(message: string, fix: string): SandboxError {
  return new SandboxError('BUNDLE_UNSAFE_ENTRY', `${message} ${fix}`)
}
