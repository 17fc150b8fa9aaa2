// Reads one small file (e.g. job.json) out of a gzip tar without extracting anything to disk,
// through the same reader and caps as every other path that inflates a bundle (size, entry count,
// compression ratio), so a bomb costs this lookup no more than it costs validation.
import { readBundle, type InflationMeter, SandboxError } from '../../sandbox/index.ts'
import { GatewayError } from './gatewayError.ts'

export type ReadBundleEntryParameters = {
  bundle: Uint8Array
  /** Entry name relative to the archive root; `./name` matches too. */
  name: string
  maxEntryBytes: number
  /** Counts the bytes inflated. */
  meter?: InflationMeter | undefined
}

/** Ends the read once the entry was found. */
class Found {
  constructor(readonly content: Buffer) {}
}

/**
 * The first regular file of that name, or null when there is none. A bundle the checks refuse
 * (not gzip, a bomb, an unsafe entry before it) is a 400 that says why.
 */
export async function readBundleEntry({ bundle, name, maxEntryBytes, meter }: ReadBundleEntryParameters): Promise<Buffer | null> {
  try {
    await readBundle({
      bundle,
      meter,
      onEntry: async (entry, content) => {
        if (entry.kind !== 'file' || entry.path !== name || entry.size > maxEntryBytes) return
        const chunks: Buffer[] = []
        for await (const chunk of content) chunks.push(chunk)
        throw new Found(Buffer.concat(chunks))
      },
    })
    return null
  } catch (error) {
    if (error instanceof Found) return error.content
    if (error instanceof SandboxError && error.isUserError) throw new GatewayError('SUBMISSION_INVALID', error.shortMessage, { details: error.details })
    throw error
  }
}
