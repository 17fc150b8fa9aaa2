// Writes a downloaded output file under a local folder after checking its sha256 against the
// status the gateway reported; refuses paths that would land outside the folder.
import { createHash } from 'node:crypto'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { SandrunClientError } from './clientError.ts'

export type SaveOutputParameters = {
  dir: string
  /** Output path as the gateway lists it (relative, forward slashes). */
  outputPath: string
  content: Buffer
  /** Expected sha256 (bare or 0x hex). */
  sha256: string
}

export async function saveOutput({ dir, outputPath, content, sha256 }: SaveOutputParameters): Promise<string> {
  const root = path.resolve(dir)
  const target = path.resolve(root, ...outputPath.split('/'))
  if (!target.startsWith(root + path.sep) || outputPath.split('/').includes('..')) {
    throw new SandrunClientError('PROTOCOL', `The gateway listed an unsafe output path; not writing it.`, { details: outputPath.slice(0, 200) })
  }
  const actual = createHash('sha256').update(content).digest('hex')
  if (actual !== sha256.replace(/^0x/, '').toLowerCase()) {
    throw new SandrunClientError('PROTOCOL', `Output ${outputPath} does not match its sha256; the download is corrupt.`)
  }
  await mkdir(path.dirname(target), { recursive: true })
  await writeFile(target, content)
  return target
}
