// Builds a bundle from in-memory files: for tests, examples and the CLI's one-file jobs.
import { packTar, type PackEntry } from './packTar.ts'

export type PackFileContent =
  | string
  | Uint8Array
  | { content: string | Uint8Array; mode?: number | undefined }
  | { symlink: string }

/**
 * `{ 'main.py': 'print(1)', 'run.sh': { content: '...', mode: 0o755 }, 'data/': '', 'l': { symlink: 'main.py' } }`.
 * A name ending in `/` is an (empty) directory; entries are packed in the order given.
 */
export async function packFiles(files: Record<string, PackFileContent>): Promise<Buffer> {
  const entries: PackEntry[] = Object.entries(files).map(([name, value]): PackEntry => {
    if (name.endsWith('/')) return { type: 'directory', name }
    if (typeof value === 'string' || value instanceof Uint8Array)
      return { type: 'file', name, mode: 0o644, content: () => toBytes(value) }
    if ('symlink' in value) return { type: 'symlink', name, target: value.symlink }
    return { type: 'file', name, mode: value.mode ?? 0o644, content: () => toBytes(value.content) }
  })
  return packTar(entries)
}

function toBytes(value: string | Uint8Array): Uint8Array {
  return typeof value === 'string' ? Buffer.from(value) : value
}
