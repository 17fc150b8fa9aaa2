// What the environment digest (docs/environments.md, "The environment digest") covers for one template and interpreter. The
// digest function itself is the verifier's (`environmentDigest`); the sandbox may not import the
// verifier, so it only builds the input and node/ hashes it.
import type { EnvironmentDetection } from './detectEnvironments.ts'

export type EnvironmentDigestInputParameters = {
  detection: EnvironmentDetection
  /** The job interpreter's version line as detected (`Python 3.11.2`, `v20.20.0`…). */
  interpreterVersion: string
  /** Interpreter name, always prefixed: node prints only `v20.20.0`, perl `v5.36.0`, sh nothing useful. */
  interpreterName: string
}

/** Same shape as the verifier's EnvironmentDigestParameters. */
export type EnvironmentDigestInputReturnType = {
  interpreterVersion: string
  packages: string[]
} | null

/**
 * The interpreter reads `<name> <version line>` (`python3 Python 3.11.2`), packages are spelled
 * `debian-package=version` (apt's own pin syntax) after `template:<name>@<version>`, and null means
 * the template is not installed here: no digest, no job.
 */
export function environmentDigestInput({ detection, interpreterVersion, interpreterName }: EnvironmentDigestInputParameters): EnvironmentDigestInputReturnType {
  if (!detection.installed) return null
  const named = `${interpreterName} ${interpreterVersion.trim()}`
  const { template } = detection
  return {
    interpreterVersion: named,
    packages: [`template:${template.name}@${template.version}`, ...template.packages.map((p) => `${p}=${detection.versions[p]}`)],
  }
}
