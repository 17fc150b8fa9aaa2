// The admission check of a job on this host: its environment template is installed, its GPU
// requirement is met, and its requirements file is one the offline install step may install from
// an index this host has. Pure and cheap (no spawns, no file access) for the common job.
import { requireEnvironment } from './environments/requireEnvironment.ts'
import type { EnvironmentDetection } from './environments/detectEnvironments.ts'
import type { GpuDetection } from './gpu/gpuInfo.ts'
import { requireGpu } from './gpu/requireGpu.ts'
import { checkRequirementsFile } from './requirements/checkRequirementsFile.ts'
import type { RequirementsConfig } from './requirements/requirementsConfig.ts'
import type { AdmitJobParameters, AdmitJobReturnType } from './sandbox.ts'

/** What the host detected and configured at start-up. */
export type JobAdmissionHost = {
  environments: readonly EnvironmentDetection[]
  gpus: GpuDetection
  requirements: RequirementsConfig
}

export type { AdmitJobParameters, AdmitJobReturnType }

/** Throws a user SandboxError naming what is missing here and what to change. */
export function admitJob(host: JobAdmissionHost, { manifest, requirementsFile = null }: AdmitJobParameters): AdmitJobReturnType {
  const template = requireEnvironment({ name: manifest.environment, detections: host.environments })
  const gpus = manifest.gpu ? requireGpu({ requirement: manifest.gpu, gpus: host.gpus.gpus }) : []
  const requirements =
    manifest.requirements === null ? null : checkRequirementsFile({ requirements: manifest.requirements, content: requirementsFile, config: host.requirements })
  return { template, gpus, requirements }
}
