// Checks a whole outputs folder against a result root. The root is recomputed from the folder's
// own files plus the exit/stdout/stderr entries (which may come from an untrusted gateway): if it
// equals the trusted root, every file is proven. Otherwise the folder is NOT verified, and the
// files are compared with the claimed entries only to point at what differs.
import type { ResultEntryInput } from './canonicalResultEntries.ts'
import { resultRoot } from './resultRoot.ts'

export type OutputFileDigest = { path: string; sha256: string; size: number }

export type OutputFileVerdict = {
  path: string
  /** ok: as claimed; tampered: other content; wrong-path: content of `expectedPath`; extra: not in the result. */
  status: 'ok' | 'tampered' | 'wrong-path' | 'extra'
  expectedPath?: string
}

export type VerifyOutputsParameters = {
  /** The trusted root (the on-chain consensus root). */
  root: string
  /** The result entries as someone claims them (exit, stdout, stderr, outputs/...); untrusted. */
  entries: readonly ResultEntryInput[]
  /** The folder's files as hashed here (see hashOutputsFolder). */
  files: readonly OutputFileDigest[]
}

export type VerifyOutputsReturnType = {
  verified: boolean
  reason: string
  /** Root of exit/stdout/stderr from `entries` plus the folder's files; null if those entries are malformed. */
  recomputedRoot: string | null
  /** Whether `entries` themselves hash to the root; when true, per-file verdicts are proven individually. */
  claimsMatchRoot: boolean
  files: OutputFileVerdict[]
  /** Output paths the result has (per the claims) that the folder lacks. */
  missing: string[]
}

const outputsPrefix = 'outputs/'
// Plain string comparison: claimed sums may be malformed, and must then simply not match.
const bareSha256 = (value: string): string => value.replace(/^0x/, '').toLowerCase()
const sameContent = (a: { sha256: string; size: number }, b: { sha256: string; size: number }): boolean =>
  a.size === b.size && bareSha256(a.sha256) === bareSha256(b.sha256)

function tryRoot(entries: readonly ResultEntryInput[]): string | null {
  try {
    return resultRoot(entries)
  } catch {
    return null
  }
}

export function verifyOutputs({ root, entries, files }: VerifyOutputsParameters): VerifyOutputsReturnType {
  const wanted = root.toLowerCase()
  const claimsMatchRoot = tryRoot(entries)?.toLowerCase() === wanted
  const fixed = entries.filter((e) => !e.name.startsWith(outputsPrefix))
  const recomputedRoot = tryRoot([...fixed, ...files.map((f) => ({ name: `${outputsPrefix}${f.path}`, sha256: f.sha256, size: f.size }))])
  if (recomputedRoot?.toLowerCase() === wanted) {
    return {
      verified: true,
      reason: `all ${files.length} files, with the exit status, stdout and stderr, hash to root ${root}`,
      recomputedRoot,
      claimsMatchRoot,
      files: files.map((f) => ({ path: f.path, status: 'ok' })),
      missing: [],
    }
  }

  const claimed = entries.filter((e) => e.name.startsWith(outputsPrefix)).map((e) => ({ ...e, path: e.name.slice(outputsPrefix.length) }))
  const matchedPaths = new Set<string>()
  const verdicts = files.map((file): OutputFileVerdict => {
    const entry = claimed.find((c) => c.path === file.path)
    if (entry && sameContent(entry, file)) {
      matchedPaths.add(entry.path)
      return { path: file.path, status: 'ok' }
    }
    const moved = claimed.find((c) => c.path !== file.path && sameContent(c, file) && !files.some((f) => f.path === c.path))
    if (moved) {
      matchedPaths.add(moved.path)
      return { path: file.path, status: 'wrong-path', expectedPath: moved.path }
    }
    if (entry) {
      matchedPaths.add(entry.path)
      return { path: file.path, status: 'tampered' }
    }
    return { path: file.path, status: 'extra' }
  })
  const missing = claimed.map((c) => c.path).filter((p) => !matchedPaths.has(p) && !files.some((f) => f.path === p))
  const problems = [
    ...verdicts.filter((v) => v.status !== 'ok').map((v) => (v.status === 'wrong-path' ? `${v.path} is ${v.expectedPath} under the wrong path` : `${v.path} is ${v.status}`)),
    ...missing.map((p) => `${p} is missing`),
  ]
  const why = claimsMatchRoot
    ? problems.length > 0
      ? problems.join('; ')
      : 'the folder differs from the result'
    : `the claimed result entries do not hash to root ${root} either, so they prove nothing${problems.length > 0 ? `; compared with them: ${problems.join('; ')}` : ''}`
  return { verified: false, reason: `the folder does not hash to root ${root}: ${why}`, recomputedRoot, claimsMatchRoot, files: verdicts, missing }
}
