// Caps applied while reading an uploaded bundle. They are checked as the archive streams in, so a
// hostile upload is refused after inflating at most a bounded amount, never all of it.

export type BundleLimits = {
  /** Sum of the sizes of all file entries (uncompressed content). */
  maxTotalBytes: number
  /** Entries of any kind (files, directories, links) in the archive. */
  maxEntries: number
  /** Largest allowed uncompressed/compressed size ratio, checked once `ratioThresholdBytes` are inflated. */
  maxCompressionRatio: number
  ratioThresholdBytes: number
  /** Path components in one entry name. */
  maxDepth: number
}

export const defaultBundleLimits: BundleLimits = {
  // Matches the default /work tmpfs size: a bundle that does not fit there cannot run anyway.
  maxTotalBytes: 100 * 1024 * 1024,
  // Real projects rarely ship more; each entry costs an inode and a syscall or two.
  maxEntries: 10_000,
  // Source code and data compress 3-20x; 200x only happens with padding or a deliberate bomb.
  maxCompressionRatio: 200,
  // Below 1 MiB the ratio says nothing useful (a few KiB of zeros compress 1000x).
  ratioThresholdBytes: 1024 * 1024,
  // Deep enough for any real tree, shallow enough that path handling stays cheap.
  maxDepth: 64,
}

/** Longest entry name or link target, in bytes (Linux PATH_MAX). */
export const maxEntryNameBytes = 4096

/** Symlink hops followed when checking where a link points, as the kernel does before ELOOP. */
export const maxSymlinkHops = 40

export function resolveBundleLimits(limits: Partial<BundleLimits> | undefined): BundleLimits {
  return { ...defaultBundleLimits, ...stripUndefined(limits ?? {}) }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}

/** Sizes in messages: whole MiB/KiB where exact, so limits read the way they were configured. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`
  return `${bytes} bytes`
}
