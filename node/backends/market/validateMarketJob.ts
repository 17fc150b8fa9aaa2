// Checks a market submission before the gateway spends gas on it: the manifest, the bundle (a safe
// gzip tar with the entrypoint in it) and an environment digest for the job's template and
// interpreter, which the spec hash needs. Whether a worker can run it is the workers' call.
import { readBundle, SandboxError, parseManifest, type Manifest } from '../../../sandbox/index.ts'
import { BackendError } from '../backendError.ts'
import type { BackendEnvironments } from '../jobBackend.ts'

export type ValidateMarketJobParameters = {
  manifest: unknown
  bundle: Uint8Array
  environments: BackendEnvironments
}

export type ValidateMarketJobReturnType = { manifest: Manifest; environmentDigest: string }

const gwei = 10n ** 9n

export async function validateMarketJob({ manifest: input, bundle, environments }: ValidateMarketJobParameters): Promise<ValidateMarketJobReturnType> {
  try {
    const manifest = parseManifest(input)
    const { files } = await readBundle({ bundle, onEntry: async () => undefined })
    if (!files.includes(manifest.entrypoint)) {
      throw new BackendError('JOB_INVALID', `The entrypoint "${manifest.entrypoint.slice(0, 200)}" is not in the bundle.`, {
        details: 'Put it in the tar.gz (paths are relative to the archive root).',
        reason: 'ENTRYPOINT_MISSING',
      })
    }
    // The market keeps rewards in whole gwei (one storage word per job); say so before any gas is spent.
    if (manifest.reward_wei !== null && BigInt(manifest.reward_wei) % gwei !== 0n) {
      throw new BackendError('JOB_INVALID', 'The manifest field "reward_wei" must be a whole number of gwei (a multiple of 1000000000).', {
        details: `Round ${manifest.reward_wei.slice(0, 80)} to a multiple of 1000000000.`,
        reason: 'REWARD_INVALID',
      })
    }
    const template = environments.templates[manifest.environment]
    if (!template) {
      throw new BackendError('JOB_INVALID', `Unknown environment "${manifest.environment.slice(0, 64)}".`, {
        details: `Use one of ${Object.keys(environments.templates).join(', ')} (GET /environments).`,
        reason: 'ENVIRONMENT_UNKNOWN',
      })
    }
    const environmentDigest = template.digests[manifest.interpreter]
    if (environmentDigest === undefined) {
      throw new BackendError('JOB_INVALID', `This gateway cannot name the environment "${manifest.environment}" for ${manifest.interpreter}, so workers could not match it.`, {
        details: 'GET /environments lists the templates and interpreters with a digest; pick one of those.',
        reason: 'ENVIRONMENT_UNKNOWN',
      })
    }
    return { manifest, environmentDigest }
  } catch (error) {
    if (error instanceof SandboxError && error.isUserError) {
      throw new BackendError('JOB_INVALID', error.shortMessage, { details: error.details, reason: error.code, cause: error })
    }
    throw error
  }
}
