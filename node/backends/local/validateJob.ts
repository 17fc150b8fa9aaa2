// Checks a submission before it is queued, so a bad job is a 400 at /submit rather than a failed
// job later: the manifest, the bundle (a safe gzip tar within the caps), the entrypoint's presence,
// an installed interpreter, and the host's admission (environment template installed, GPU
// requirement met, requirements file acceptable). Sandbox errors become mode-neutral BackendErrors.
import { type InflationMeter, readBundle, SandboxError, type Sandbox, type Manifest, parseManifest } from '../../../sandbox/index.ts'
import { BackendError } from '../backendError.ts'

export type ValidateJobParameters = {
  manifest: unknown
  bundle: Uint8Array
  sandbox: Pick<Sandbox, 'capabilities' | 'admitJob'>
  /** Counts the bytes inflated to check the bundle. */
  meter?: InflationMeter | undefined
}

/** Requirement files are a few KiB; the runner refuses larger ones too. */
const maxRequirementsFileBytes = 1024 * 1024

async function check({ manifest: input, bundle, sandbox, meter }: ValidateJobParameters): Promise<Manifest> {
  const manifest = parseManifest(input)
  // One pass over the bundle: the safety checks and, when there is one, the requirements file.
  let requirementsFile: string | null = null
  const { files } = await readBundle({
    bundle,
    meter,
    onEntry: async (entry, content) => {
      if (entry.path !== manifest.requirements || entry.kind !== 'file') return
      if (entry.size > maxRequirementsFileBytes) {
        throw new SandboxError('BUNDLE_INVALID', `The requirements file "${entry.path.slice(0, 200)}" is larger than ${maxRequirementsFileBytes / 1024} KiB.`, {
          details: 'List only the packages the job needs.',
        })
      }
      const chunks: Buffer[] = []
      for await (const chunk of content) chunks.push(chunk)
      requirementsFile = Buffer.concat(chunks).toString('utf8')
    },
  })
  if (!files.includes(manifest.entrypoint)) {
    throw new SandboxError('ENTRYPOINT_MISSING', `The entrypoint "${manifest.entrypoint.slice(0, 200)}" is not in the bundle.`, {
      details: `Put it in the tar.gz (paths are relative to the archive root). The bundle has ${files.length} file(s)${files.length ? `, e.g. ${files.slice(0, 5).join(', ')}` : ''}.`,
    })
  }
  const interpreter = sandbox.capabilities.interpreters.find((i) => i.name === manifest.interpreter)
  if (!interpreter?.available) {
    throw new SandboxError('INTERPRETER_MISSING', `The interpreter "${manifest.interpreter}" is not installed on this server.`, {
      details: 'GET /environments lists the interpreters this server has.',
    })
  }
  // A later entry of another kind (a directory, a link) replaces the file, as extraction would.
  if (manifest.requirements !== null && !files.includes(manifest.requirements)) requirementsFile = null
  sandbox.admitJob({ manifest, requirementsFile })
  return manifest
}

export async function validateJob(parameters: ValidateJobParameters): Promise<Manifest> {
  try {
    return await check(parameters)
  } catch (error) {
    if (error instanceof SandboxError && error.isUserError) {
      throw new BackendError('JOB_INVALID', error.shortMessage, { details: error.details, reason: error.code, cause: error })
    }
    throw error
  }
}
