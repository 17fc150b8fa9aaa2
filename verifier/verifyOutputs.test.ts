// A downloaded outputs folder against a result root: proven when it hashes to the root; otherwise
// not verified, with tampered, moved, extra and missing files named.
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { hashOutputsFolder } from './hashOutputsFolder.ts'
import { resultEntries } from './resultEntries.ts'
import { resultRoot } from './resultRoot.ts'
import { verifyOutputs } from './verifyOutputs.ts'

const files: Record<string, string> = { 'result.csv': 'x,y\n1,2\n', 'plots/a.txt': 'plot a', 'b.txt': 'bee' }

async function folder(content: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sandrun-outputs-'))
  for (const [name, text] of Object.entries(content)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), text)
  }
  return dir
}

// The committed result, built the way a worker builds it.
const original = await hashOutputsFolder(await folder(files))
const entries = resultEntries({
  exitCode: 0,
  termination: 'exited',
  stdout: Buffer.from('done\n'),
  stderr: Buffer.alloc(0),
  outputs: original.map((f) => ({ path: f.path, sha256: f.sha256, sizeBytes: f.size })),
})
const root = resultRoot(entries)

describe('verifyOutputs', () => {
  it('proves a folder that is exactly the result', async () => {
    const report = verifyOutputs({ root, entries, files: await hashOutputsFolder(await folder(files)) })
    expect(report).toMatchObject({ verified: true, recomputedRoot: root, claimsMatchRoot: true, missing: [] })
    expect(report.files.map((f) => f.status)).toEqual(['ok', 'ok', 'ok'])
  })

  it('names a tampered file', async () => {
    const report = verifyOutputs({ root, entries, files: await hashOutputsFolder(await folder({ ...files, 'b.txt': 'wasp' })) })
    expect(report.verified).toBe(false)
    expect(report.files).toContainEqual({ path: 'b.txt', status: 'tampered' })
    expect(report.reason).toMatch(/b\.txt is tampered/)
  })

  it('names a file under the wrong path, an extra file and a missing file', async () => {
    const { 'plots/a.txt': moved, 'b.txt': _dropped, ...rest } = files
    const report = verifyOutputs({ root, entries, files: await hashOutputsFolder(await folder({ ...rest, 'a.txt': moved!, 'notes.txt': 'mine' })) })
    expect(report.verified).toBe(false)
    expect(report.files).toContainEqual({ path: 'a.txt', status: 'wrong-path', expectedPath: 'plots/a.txt' })
    expect(report.files).toContainEqual({ path: 'notes.txt', status: 'extra' })
    expect(report.missing).toEqual(['b.txt'])
  })

  it('is not verified when the claimed entries were forged to match a forged file', async () => {
    const forged = await hashOutputsFolder(await folder({ ...files, 'result.csv': 'x,y\n1,3\n' }))
    const forgedEntries = entries.map((e) => (e.name === 'outputs/result.csv' ? { ...e, sha256: forged.find((f) => f.path === 'result.csv')!.sha256 } : e))
    const report = verifyOutputs({ root, entries: forgedEntries, files: forged })
    expect(report).toMatchObject({ verified: false, claimsMatchRoot: false })
    expect(report.reason).toMatch(/prove nothing/)
  })

  it('refuses a folder with a link instead of following it', async () => {
    const dir = await folder(files)
    await symlink('/etc/passwd', path.join(dir, 'passwd'))
    await expect(hashOutputsFolder(dir)).rejects.toMatchObject({ code: 'OUTPUTS_UNREADABLE' })
  })
})
