// The submit-time check of a job's requirements file (read from the bundle by the caller): refuses
// what the offline install step cannot or must not do, before the job is queued.
import { SandboxError } from '../errors.ts'
import { checkNpmPackageJson } from './checkNpmPackageJson.ts'
import { parsePipRequirements } from './parsePipRequirements.ts'
import type { RequirementsConfig } from './requirementsConfig.ts'
import { requirementsKind, type RequirementsKind } from './requirementsKind.ts'

export type CheckRequirementsFileParameters = {
  /** The manifest's `requirements` (a path relative to the bundle root). */
  requirements: string
  /** The file's content, or null when the bundle has no such regular file. */
  content: string | null
  config: RequirementsConfig
}

export type CheckRequirementsFileReturnType = {
  kind: RequirementsKind
  /** `name` + version spec of every package the step will install, for logs and UIs. */
  packages: string[]
}

export function checkRequirementsFile({ requirements, content, config }: CheckRequirementsFileParameters): CheckRequirementsFileReturnType {
  const kind = requirementsKind(requirements)
  if ((kind === 'pip' ? config.pipIndex : config.npmIndex) === null) {
    throw new SandboxError('MANIFEST_INVALID', `This host has no ${kind} package index, so it cannot install "${requirements}".`, {
      details: 'Remove "requirements" (GET /environments lists the templates with preinstalled packages) or use a host that offers them.',
    })
  }
  if (content === null) {
    throw new SandboxError('BUNDLE_INVALID', `The requirements file "${requirements}" is not a regular file in the bundle.`, {
      details: 'Add it to the tarball or fix the manifest\'s "requirements" path (relative to the bundle root).',
    })
  }
  if (kind === 'pip') {
    const parsed = parsePipRequirements({ content, fileName: requirements })
    return { kind, packages: parsed.map((r) => `${r.name}${r.extras.length ? `[${r.extras.join(',')}]` : ''}${r.specifier}`) }
  }
  return { kind, packages: checkNpmPackageJson({ content, fileName: requirements }).map((d) => `${d.name}@${d.range}`) }
}
