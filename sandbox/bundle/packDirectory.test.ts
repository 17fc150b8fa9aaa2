import { execFileSync } from 'node:child_process'
import { mkdir, mkdtemp, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { extractBundle } from './extractBundle.ts'
import { inspectBundle } from './inspectBundle.ts'
import { packDirectory } from './packDirectory.ts'
import { packFiles } from './packFiles.ts'

let root: string
let project: string

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'sandrun-pack-'))
  project = join(root, 'project')
  await mkdir(join(project, 'src/lib'), { recursive: true })
  await mkdir(join(project, 'empty'))
  await writeFile(join(project, 'main.py'), 'import lib\n')
  await writeFile(join(project, 'src/lib/util.py'), 'X = 1\n')
  await writeFile(join(project, 'run.sh'), 'echo hi\n', { mode: 0o755 })
  await writeFile(join(project, '.env.example'), 'A=1\n')
  await writeFile(join(root, 'secret.txt'), 'do not pack me')
})

afterEach(async () => {
  await rm(root, { recursive: true, force: true })
})

describe('packDirectory', () => {
  it('packs a folder that extracts to the same files, modes and inside links', async () => {
    await symlink('src/lib/util.py', join(project, 'util.py'))
    const bundle = await packDirectory(project)
    const out = join(root, 'out')
    await mkdir(out)
    const { files } = await extractBundle({ bundle, targetDir: out })
    expect(files).toEqual(['.env.example', 'main.py', 'run.sh', 'src/lib/util.py'])
    expect(await readFile(join(out, 'src/lib/util.py'), 'utf8')).toBe('X = 1\n')
    expect((await stat(join(out, 'run.sh'))).mode & 0o777).toBe(0o755)
    expect((await stat(join(out, 'empty'))).isDirectory()).toBe(true)
    expect(await readlink(join(out, 'util.py'))).toBe('src/lib/util.py')
  })

  it('gives the same bytes for the same folder', async () => {
    const first = await packDirectory(project)
    await writeFile(join(project, 'main.py'), 'import lib\n') // new mtime, same content
    expect((await packDirectory(project)).equals(first)).toBe(true)
  })

  it('skips symlinks that leave the folder and does not descend linked directories', async () => {
    await symlink(join(root, 'secret.txt'), join(project, 'absolute'))
    await symlink('../secret.txt', join(project, 'relative'))
    await symlink('.', join(project, 'here'))
    await symlink('here/../secret.txt', join(project, 'sneaky'))
    await symlink(root, join(project, 'rootdir'))
    const bundle = await packDirectory(project)
    // The server-side checks accept it: nothing unsafe was packed.
    const { files } = await inspectBundle(bundle)
    expect(files).toEqual(['.env.example', 'main.py', 'run.sh', 'src/lib/util.py'])
    const listing = execFileSync('tar', ['-tzf', '-'], { input: bundle }).toString().split('\n')
    expect(listing).toContain('here')
    for (const skipped of ['absolute', 'relative', 'sneaky', 'rootdir']) expect(listing).not.toContain(skipped)
    expect(bundle.includes('do not pack me')).toBe(false)
  })

  it('skips FIFOs', async () => {
    execFileSync('mkfifo', [join(project, 'pipe')])
    const listing = execFileSync('tar', ['-tzf', '-'], { input: await packDirectory(project) }).toString()
    expect(listing.split('\n')).not.toContain('pipe')
  })
})

describe('packFiles', () => {
  it('packs contents, modes, directories and symlinks that GNU tar can read', async () => {
    const bundle = await packFiles({
      'main.py': 'print(1)\n',
      'bin/run': { content: '#!/bin/sh\n', mode: 0o755 },
      'data/': '',
      'link': { symlink: 'main.py' },
    })
    const listing = execFileSync('tar', ['-tvzf', '-'], { input: bundle }).toString()
    expect(listing).toMatch(/-rw-r--r-- .* main\.py/)
    expect(listing).toMatch(/-rwxr-xr-x .* bin\/run/)
    expect(listing).toMatch(/drwxr-xr-x .* data\//)
    expect(listing).toMatch(/lrwxrwxrwx .* link -> main\.py/)
  })
})
