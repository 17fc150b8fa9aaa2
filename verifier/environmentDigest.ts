// The environment digest (docs/environments.md, "The environment digest"): one hash naming an interpreter build plus its package
// set, so a worker takes only jobs it can run exactly as the other replicas do.
import { sha256 } from '@noble/hashes/sha2.js'
import { canonicalJson } from './canonicalJson.ts'
import { VerifierError } from './errors.ts'
import { bytesToHex, type Hex } from './hex.ts'

export type EnvironmentDigestParameters = {
  /** The interpreter's version line, e.g. `Python 3.11.2` (include the name: `node` prints only `v20.20.0`). */
  interpreterVersion: string
  /** Installed packages as `name==version` (or the template's own spelling); order does not matter. */
  packages: readonly string[]
}

/**
 * sha256 (0x hex) of the RFC 8785 canonical JSON
 * `{"interpreter_version":"<version>","packages":["<p1>","<p2>",…]}` where the version and every
 * package are trimmed of surrounding whitespace, duplicates are dropped and packages are sorted by
 * their UTF-8 bytes. So `python3 --version` output with its newline and a `pip freeze` list in any
 * order give the same digest on every worker.
 */
export function environmentDigest({ interpreterVersion, packages }: EnvironmentDigestParameters): Hex {
  const version = interpreterVersion.trim()
  if (version === '') {
    throw new VerifierError('ENVIRONMENT_INVALID', 'The interpreter version is empty; pass the output of `<interpreter> --version`.')
  }
  const trimmed = packages.map((p) => p.trim())
  const blank = trimmed.indexOf('')
  if (blank >= 0) {
    throw new VerifierError('ENVIRONMENT_INVALID', `Package ${blank} of the list is empty; leave blank lines out of the package list.`)
  }
  const sorted = [...new Set(trimmed)].sort((a, b) => Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
  const text = canonicalJson({ interpreter_version: version, packages: sorted })
  return bytesToHex(sha256(Buffer.from(text, 'utf8')))
}
