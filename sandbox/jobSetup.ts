// Turns an admitted job into what its bwrap processes need beyond the defaults: the steps that run
// before the entrypoint (requirements install), the entrypoint's environment (template variables,
// where installed packages are) and extra sandbox options (GPU devices). A job without template
// variables, requirements or GPU gets the plain environment and nothing else, at no cost.
import { constants, openSync, closeSync, fstatSync, readSync, realpathSync } from 'node:fs'
import path from 'node:path'
import { admitJob, type JobAdmissionHost } from './admitJob.ts'
import { fixedEnvironment, jobEnvironment } from './environment.ts'
import { SandboxError } from './errors.ts'
import { gpuDeviceBinds } from './gpu/gpuDeviceBinds.ts'
import { requirementsInstallStep } from './requirements/requirementsInstallStep.ts'
import type { Manifest } from './types.ts'

/** One sandboxed process run in the job's workspace and cgroup before the entrypoint. */
export type PrepareStep = {
  /** Announced on the job's stderr as `[sandrun] <title>` before the step's own output. */
  title: string
  /** Announced once the step succeeded. */
  done: string
  command: string[]
  env: Record<string, string>
  bwrapArgs: string[]
}

export type JobSetupParameters = {
  host: JobAdmissionHost
  manifest: Manifest
  /** The extracted bundle on the host (the job has not run yet, so its content is the bundle's). */
  workDir: string
}

export type JobSetupReturnType = {
  prepare: PrepareStep[]
  /** The entrypoint's environment. */
  env: Record<string, string>
  /** bwrap options for the entrypoint's sandbox. */
  bwrapArgs: string[]
}

/** pip and npm files are a few KiB; this only bounds what the service reads into memory. */
const maxRequirementsFileBytes = 1024 * 1024

/** The requirements file's text, or null when it is not a regular file inside the workspace. */
function readRequirementsFile(workDir: string, requirements: string): string | null {
  const file = path.join(workDir, requirements)
  let fd: number
  try {
    // Extraction refuses links that leave the bundle; checking again costs one call and keeps a
    // host file from ever being read into an error message.
    const real = realpathSync(file)
    if (!real.startsWith(`${realpathSync(workDir)}${path.sep}`)) return null
    fd = openSync(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
  } catch {
    return null
  }
  try {
    const stat = fstatSync(fd)
    if (!stat.isFile()) return null
    if (stat.size > maxRequirementsFileBytes) {
      throw new SandboxError('BUNDLE_INVALID', `The requirements file "${requirements}" is larger than ${maxRequirementsFileBytes / 1024} KiB.`, {
        details: 'List only the packages the job needs.',
      })
    }
    const buffer = Buffer.alloc(stat.size)
    let offset = 0
    while (offset < buffer.length) {
      const read = readSync(fd, buffer, offset, buffer.length - offset, offset)
      if (read === 0) break
      offset += read
    }
    return buffer.subarray(0, offset).toString('utf8')
  } finally {
    closeSync(fd)
  }
}

/** Throws the admission's user SandboxError when this host cannot run the job. */
export function jobSetup({ host, manifest, workDir }: JobSetupParameters): JobSetupReturnType {
  const requirementsFile = manifest.requirements === null ? null : readRequirementsFile(workDir, manifest.requirements)
  const admission = admitJob(host, { manifest, requirementsFile })
  const bwrapArgs = gpuDeviceBinds({ gpus: admission.gpus, detection: host.gpus })
  const templateEnv = admission.template.env
  if (manifest.requirements === null || admission.requirements === null) {
    const env = Object.keys(templateEnv).length === 0 ? jobEnvironment(manifest) : { ...manifest.env, ...templateEnv, ...fixedEnvironment }
    return { prepare: [], env, bwrapArgs }
  }
  const step = requirementsInstallStep({ requirements: manifest.requirements, config: host.requirements })
  return {
    prepare: [
      {
        title: `installing requirements (${step.kind}: ${manifest.requirements})`,
        done: 'requirements installed; starting the job',
        command: step.command,
        // The user's env is left out: PIP_*/npm_config_* variables could change what the installer does.
        env: { ...step.env, ...fixedEnvironment },
        bwrapArgs: step.bwrapArgs,
      },
    ],
    env: { ...manifest.env, ...templateEnv, ...step.jobEnv, ...fixedEnvironment },
    bwrapArgs,
  }
}
