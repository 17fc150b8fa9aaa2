// Validates an uploaded bundle without writing anything, so the gateway can refuse a bad upload
// at submit time with the same verdict the worker's extraction would reach.
import type { BundleLimits } from './bundleLimits.ts'
import { readBundle } from './readBundle.ts'

export type InspectBundleReturnType = {
  /** Regular files (hardlinks included) in the bundle, normalized (`./a//b` -> `a/b`), sorted. */
  files: string[]
  /** Uncompressed size of all file entries. */
  totalBytes: number
  /** Entries of every kind, the directories their paths imply included, as counted against `maxEntries`. */
  entryCount: number
}

/** Throws SandboxError (BUNDLE_INVALID, BUNDLE_UNSAFE_ENTRY, BUNDLE_TOO_LARGE) for a bundle extractBundle would refuse. */
export async function inspectBundle(
  bundle: Uint8Array,
  limits?: Partial<BundleLimits> | undefined,
): Promise<InspectBundleReturnType> {
  return readBundle({ bundle, limits, onEntry: async () => {} })
}
