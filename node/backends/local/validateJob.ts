// Checks a submission before it is queued, so a bad job is a 400 at /submit rather than a failed
// job later: the manifest, the bundle (a safe gzip tar within the caps), the entrypoint's presence
// and an installed interpreter. Sandbox errors become mode-neutral BackendErrors.
import { inspectBundle } from '../../../sandbox/bundle/inspectBundle.ts'
import { SandboxError } from '../../../sandbox/errors.ts'
import type { HostCapabilities } from '../../../sandbox/sandbox.ts'
import type { Manifest } from '../../../sandbox/types.ts'
import { BackendError } from '../backendError.ts'
import { parseManifest } from '../../../sandbox/manifest.ts'

export type ValidateJobParameters = {
  manifest: unknown
  bundle: Uint8Array
  capabilities: HostCapabilities
}

async function check({ manifest: input, bundle, capabilities }: ValidateJobParameters): Promise<Manifest> {
  const manifest = parseManifest(input)
  const { files } = await inspectBundle(bundle)
  if (!files.includes(manifest.entrypoint)) {
    throw new SandboxError('ENTRYPOINT_MISSING', `The entrypoint "${manifest.entrypoint.slice(0, 200)}" is not in the bundle.`, {
      details: `Put it in the tar.gz (paths are relative to the archive root). The bundle has ${files.length} file(s)${files.length ? `, e.g. ${files.slice(0, 5).join(', ')}` : ''}.`,
    })
  }
  const interpreter = capabilities.interpreters.find((i) => i.name === manifest.interpreter)
  if (!interpreter?.available) {
    throw new SandboxError('INTERPRETER_MISSING', `The interpreter "${manifest.interpreter}" is not installed on this server.`, {
      details: 'GET /environments lists the interpreters this server has.',
    })
  }
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
