// Validates a job's package.json before its dependencies are installed: every dependency must be a
// registry package with a version range, because the install step reads only the host's npm cache.
// Git, URL, file, link and alias specs are refused with the dependency to fix.
import { SandboxError } from '../errors.ts'
import { errorMessageOf } from '../../errors/index.ts'

export type CheckNpmPackageJsonParameters = {
  content: string
  fileName: string
  maxDependencies?: number | undefined
}

/** The dependencies npm will install (devDependencies are skipped: the step runs with --omit=dev). */
export type CheckNpmPackageJsonReturnType = Array<{ name: string; range: string }>

const packageName = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/
// Semver ranges and dist-tags: digits, letters, x/*, ^~<>=, '||', '-', spaces. No ':' or '/'.
const rangePattern = /^[A-Za-z0-9.*^~<>=|+\s-]{0,256}$/

export function checkNpmPackageJson({ content, fileName, maxDependencies = 500 }: CheckNpmPackageJsonParameters): CheckNpmPackageJsonReturnType {
  let parsed: unknown
  try {
    parsed = JSON.parse(content)
  } catch (error) {
    throw new SandboxError('BUNDLE_INVALID', `${fileName} is not valid JSON: ${errorMessageOf(error)}.`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SandboxError('BUNDLE_INVALID', `${fileName} must be a JSON object with a "dependencies" object.`)
  }
  const dependencies: CheckNpmPackageJsonReturnType = []
  for (const field of ['dependencies', 'optionalDependencies'] as const) {
    const value = (parsed as Record<string, unknown>)[field]
    if (value === undefined) continue
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new SandboxError('BUNDLE_INVALID', `${fileName}: "${field}" must be an object of name → version range.`)
    }
    for (const [name, range] of Object.entries(value)) {
      if (!packageName.test(name)) {
        throw new SandboxError('BUNDLE_INVALID', `${fileName}: ${JSON.stringify(name.slice(0, 80))} in "${field}" is not a valid npm package name.`)
      }
      if (typeof range !== 'string' || !rangePattern.test(range)) {
        throw new SandboxError('BUNDLE_INVALID', `${fileName}: the dependency "${name}" must be a version range, got ${JSON.stringify(String(range).slice(0, 80))}.`, {
          details: "Jobs install only registry packages from this host's npm cache: use a range like \"^1.2.0\" (no git, URL, file:, link: or npm: specs).",
        })
      }
      dependencies.push({ name, range })
    }
  }
  if (dependencies.length > maxDependencies) {
    throw new SandboxError('BUNDLE_INVALID', `${fileName} lists ${dependencies.length} dependencies; at most ${maxDependencies} are installed.`)
  }
  return dependencies
}
