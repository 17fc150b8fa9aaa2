// The checks that make an archive safe to extract, applied entry by entry in archive order.
// Both inspectBundle and extractBundle go through this, so what the gateway accepts at submit
// time is exactly what the worker will extract.
import type { Header } from 'tar-stream'
import { SandboxError } from '../errors.ts'
import type { BundleLimits } from './bundleLimits.ts'
import { formatBytes, maxEntryNameBytes } from './bundleLimits.ts'
import { entryPath, quoteEntryName } from './entryPath.ts'
import { linkTarget } from './linkTarget.ts'

export type BundleEntry =
  /** `replaces`: an earlier file entry had the same path (tar semantics: the later one wins). */
  | { kind: 'file'; path: string; size: number; executable: boolean; replaces: boolean }
  | { kind: 'directory'; path: string }
  | { kind: 'symlink'; path: string; target: string }
  /** `target` is the normalized path of a regular file that appeared earlier. */
  | { kind: 'hardlink'; path: string; target: string }

/** The header fields the checks read, as tar-stream decodes them (`linkname` is null when empty). */
export type TarHeader = Pick<Header, 'name' | 'type' | 'size' | 'mode' | 'linkname'>

type NodeKind = 'file' | 'directory' | 'symlink'

export class BundleTree {
  readonly #limits: BundleLimits
  readonly #kinds = new Map<string, NodeKind>()
  readonly #links = new Map<string, string>()
  #entryCount = 0
  #totalBytes = 0

  constructor(limits: BundleLimits) {
    this.#limits = limits
  }

  get entryCount(): number {
    return this.#entryCount
  }

  /** Sum of the entries' content sizes (files, including ones later replaced, and any link bodies). */
  get totalBytes(): number {
    return this.#totalBytes
  }

  /** Validates one header and records it; returns null for entries with nothing to do (the root). */
  add(header: TarHeader): BundleEntry | null {
    this.#count()
    const path = entryPath({ name: header.name, maxDepth: this.#limits.maxDepth })
    const kind = entryKind(header)
    if (path === '') {
      if (kind === 'directory') return null
      throw unsafe(`The ${kind} entry ${quoteEntryName(header.name)} has no file name.`)
    }
    this.#claimParents(path, header.name)
    // The parser reads `size` bytes after any header but a directory's, whatever the type says.
    if (kind !== 'directory') this.#countBytes(header)
    switch (kind) {
      case 'directory':
        this.#claim(path, 'directory', header.name)
        return { kind, path }
      case 'file': {
        const replaces = this.#claim(path, 'file', header.name)
        return { kind, path, size: header.size, executable: (header.mode & 0o111) !== 0, replaces }
      }
      case 'hardlink': {
        const target = entryPath({ name: header.linkname, maxDepth: this.#limits.maxDepth, role: 'hardlink target' })
        if (this.#kinds.get(target) !== 'file')
          throw unsafe(
            `The hardlink ${quoteEntryName(header.name)} points to ${quoteEntryName(header.linkname)}, which is not a regular file earlier in the archive.`,
          )
        this.#claim(path, 'file', header.name, { exclusive: true })
        return { kind, path, target }
      }
      case 'symlink': {
        const target = header.linkname
        if (target === '' || target.includes('\0') || Buffer.byteLength(target) > maxEntryNameBytes)
          throw unsafe(`The symlink ${quoteEntryName(header.name)} has an empty, over-long or NUL-containing target.`)
        this.#claim(path, 'symlink', header.name, { exclusive: true })
        // Absolute targets are refused at once; relative ones are judged in finish(), against the
        // whole archive, because links that come later can change where this one resolves.
        if (target.startsWith('/')) this.#checkLink(path, target)
        this.#links.set(path, target)
        return { kind, path, target }
      }
    }
  }

  /**
   * Checks every symlink against the complete archive: a link can change where another one points
   * (`t -> s/../x` is harmless until `s -> .` arrives), in either order. Extraction never follows
   * links, so an escaping link written before this check is inert until the caller removes it.
   */
  finish(): void {
    for (const [path, target] of this.#links) this.#checkLink(path, target)
  }

  /** Paths of the regular files (hardlinks included) in the final tree, sorted. */
  files(): string[] {
    const files: string[] = []
    for (const [path, kind] of this.#kinds) if (kind === 'file') files.push(path)
    return files.sort()
  }

  /**
   * One more entry of the unpacked tree. Directories that paths only imply count too: ten thousand
   * entries 64 levels deep would otherwise unpack to over half a million directories.
   */
  #count(): void {
    this.#entryCount += 1
    if (this.#entryCount > this.#limits.maxEntries)
      throw new SandboxError(
        'BUNDLE_TOO_LARGE',
        `The bundle unpacks to more than ${this.#limits.maxEntries} entries (files, directories and links, counting the directories its paths imply).`,
        { details: 'Pack fewer files or a flatter tree, e.g. archive a large data set into one file inside the bundle.' },
      )
  }

  #countBytes(header: TarHeader): void {
    this.#totalBytes += header.size
    if (this.#totalBytes > this.#limits.maxTotalBytes)
      throw new SandboxError(
        'BUNDLE_TOO_LARGE',
        `The bundle's files add up to more than ${formatBytes(this.#limits.maxTotalBytes)} (uncompressed).`,
        { details: `Reached at entry ${quoteEntryName(header.name)}. Leave large data out of the bundle.` },
      )
  }

  #checkLink(path: string, target: string): void {
    const where = linkTarget({ linkPath: path, target, links: this.#links })
    if (where === 'outside')
      throw unsafe(
        `The symlink ${quoteEntryName(path)} points to ${quoteEntryName(target)}, which is outside the bundle.`,
        'Links may only point inside the bundle, with relative targets.',
      )
    if (where === 'loop') throw unsafe(`The symlink ${quoteEntryName(path)} is part of a symlink loop.`)
  }

  /** Parents are implicit directories; none may be a symlink (it would redirect the write) or a file. */
  #claimParents(path: string, name: string): void {
    // Each proper prefix in turn (a, a/b): linear in the path's length.
    for (let end = path.indexOf('/'); end >= 0; end = path.indexOf('/', end + 1)) {
      const parent = path.slice(0, end)
      const existing = this.#kinds.get(parent)
      if (existing === undefined) {
        this.#count()
        this.#kinds.set(parent, 'directory')
      } else if (existing === 'symlink')
        throw unsafe(
          `The entry ${quoteEntryName(name)} lies under ${quoteEntryName(parent)}, which is a symlink in the archive.`,
          'Entries may not be written through links; pack the real directory instead.',
        )
      else if (existing === 'file')
        throw unsafe(`The entry ${quoteEntryName(name)} lies under ${quoteEntryName(parent)}, which is a file.`)
    }
  }

  /** Records the path; returns true when it replaces an earlier entry of the same kind. */
  #claim(path: string, kind: NodeKind, name: string, { exclusive = false } = {}): boolean {
    const existing = this.#kinds.get(path)
    if (existing === undefined) {
      this.#kinds.set(path, kind)
      return false
    }
    if (exclusive || existing !== kind)
      throw unsafe(
        `The path ${quoteEntryName(name)} appears twice in the archive (as a ${existing} and as a ${kind}).`,
        'Remove the duplicate entry.',
      )
    return true
  }
}

function entryKind(header: TarHeader): BundleEntry['kind'] {
  switch (header.type) {
    case 'file':
    case 'contiguous-file':
      return 'file'
    case 'directory':
      return 'directory'
    case 'symlink':
      return 'symlink'
    case 'link':
      return 'hardlink'
    case 'character-device':
    case 'block-device':
    case 'fifo':
      throw unsafe(
        `The entry ${quoteEntryName(header.name)} is a ${header.type.replace('-', ' ')}.`,
        'Bundles may only contain regular files, directories and links.',
      )
    default:
      throw unsafe(
        `The entry ${quoteEntryName(header.name)} has an unsupported type.`,
        'Bundles may only contain regular files, directories and links.',
      )
  }
}

function unsafe(message: string, fix?: string): SandboxError {
  return new SandboxError('BUNDLE_UNSAFE_ENTRY', fix ? `${message} ${fix}` : message)
}
