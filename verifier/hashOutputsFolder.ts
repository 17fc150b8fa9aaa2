// Hashes every regular file under a downloaded outputs folder (sha256 and size, paths relative with
// `/`), for verifyOutputs. Links and special files are refused rather than followed: a link could
// make a folder "contain" any file of the machine.
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, readdir } from 'node:fs/promises'
import path from 'node:path'
import { VerifierError } from './errors.ts'
import type { OutputFileDigest } from './verifyOutputs.ts'

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer)
  return `0x${hash.digest('hex')}`
}

/** The receipt `sandrun download` leaves in the folder (result entries, ids); not an output. */
export const resultReceiptName = '.sandrun-result.json'

export async function hashOutputsFolder(dir: string): Promise<OutputFileDigest[]> {
  const found: OutputFileDigest[] = []
  async function walk(relative: string): Promise<void> {
    const absolute = path.join(dir, relative)
    let names: string[]
    try {
      names = await readdir(absolute)
    } catch (cause) {
      throw new VerifierError('OUTPUTS_UNREADABLE', `Cannot read the outputs folder ${absolute}; pass the folder \`sandrun download --out\` wrote.`, { cause })
    }
    for (const name of names) {
      if (!relative && name === resultReceiptName) continue
      const child = relative ? `${relative}/${name}` : name
      const info = await lstat(path.join(dir, child))
      if (info.isDirectory()) await walk(child)
      else if (info.isFile()) found.push({ path: child, sha256: await sha256File(path.join(dir, child)), size: info.size })
      else throw new VerifierError('OUTPUTS_UNREADABLE', `${path.join(dir, child)} is not a regular file; outputs are plain files, remove it or verify the files one by one.`)
    }
  }
  await walk('')
  return found.sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)))
}
