// Turns a file or a folder into a job bundle plus manifest fields, the way the CLI submits code:
// a folder is packed whole and its job.json supplies the fields not given explicitly (without one,
// its single main.<ext> file is the entrypoint); a single file becomes a one-file bundle and its
// own entrypoint.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { packDirectory, packFiles } from '../../sandbox/bundle/index.ts'

export type PackJobParameters = {
  /** A file or a folder. */
  target: string
  /** Manifest fields given explicitly (they win over job.json). */
  manifest?: Record<string, unknown> | undefined
}

export type PackJobReturnType = { bundle: Buffer; manifest: Record<string, unknown> }

export async function packJob({ target, manifest: given = {} }: PackJobParameters): Promise<PackJobReturnType> {
  const manifest = { ...given }
  if (statSync(target).isDirectory()) {
    const jobJson = path.join(target, 'job.json')
    if (existsSync(jobJson)) {
      for (const [key, value] of Object.entries(JSON.parse(readFileSync(jobJson, 'utf8')) as Record<string, unknown>)) if (!(key in manifest)) manifest[key] = value
    }
    if (manifest.entrypoint === undefined) {
      // The interpreter follows from the extension, as for a single file.
      const mains = readdirSync(target).filter((name) => /^main\.[A-Za-z]+$/.test(name) && statSync(path.join(target, name)).isFile())
      if (mains.length === 1) manifest.entrypoint = mains[0]
    }
    return { bundle: await packDirectory(target), manifest }
  }
  manifest.entrypoint ??= path.basename(target)
  return { bundle: await packFiles({ [path.basename(target)]: readFileSync(target) }), manifest }
}
