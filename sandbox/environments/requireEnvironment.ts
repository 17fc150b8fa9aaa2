// The admission check for a job's `environment`: the template must exist and be installed on this
// host. A refusal is a user error (400 in local mode); the market never routes such a job here
// because the worker does not advertise the digest.
import { SandboxError } from '../errors.ts'
import type { EnvironmentDetection } from './detectEnvironments.ts'
import type { EnvironmentTemplate } from './templates.ts'

export type RequireEnvironmentParameters = {
  /** The manifest's `environment`. */
  name: string
  detections: readonly EnvironmentDetection[]
}

/** The template to run the job with: its `env` joins the job's environment, its `etcEntries` the sandbox /etc. */
export type RequireEnvironmentReturnType = EnvironmentTemplate

export function requireEnvironment({ name, detections }: RequireEnvironmentParameters): RequireEnvironmentReturnType {
  const detection = detections.find((d) => d.template.name === name)
  const installed = detections.filter((d) => d.installed).map((d) => d.template.name)
  if (!detection) {
    throw new SandboxError('ENVIRONMENT_UNKNOWN', `There is no environment template named "${name}".`, {
      details: `Set "environment" to one of: ${detections.map((d) => d.template.name).join(', ')} (GET /environments lists them).`,
    })
  }
  if (!detection.installed) {
    throw new SandboxError('ENVIRONMENT_UNKNOWN', `The environment "${name}" is not installed on this host.`, {
      details: `Installed here: ${installed.join(', ') || 'none'}. Use one of those, or a host that has "${name}" (GET /environments shows "installed").`,
    })
  }
  return detection.template
}
