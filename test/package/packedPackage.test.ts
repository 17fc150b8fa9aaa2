// The package as a user installs it: `npm pack` (which builds dist/ through prepack) gives a tarball
// that installs into an empty project without the registry; there `sandrun/client` works from plain
// Node 20 and from a bundler (esbuild), its types check with tsc, and the `sandrun` bin runs from the
// build (no TypeScript loader) and runs a job in the sandbox. Offline install: the project gets the
// repo's node_modules as hard links first, so npm finds every dependency already in place (the npm
// cache that `npm ci` fills holds tarballs but no registry metadata, so `--offline` alone fails).
import { execFile } from 'node:child_process'
import { cp, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestGateway } from '../gateway/testGateway.ts'

const exec = promisify(execFile)
const repo = path.resolve(import.meta.dirname, '../..')

let work: string
let project: string
let gateway: Awaited<ReturnType<typeof startTestGateway>>
let url: string

beforeAll(async () => {
  work = await mkdtemp(path.join(os.tmpdir(), 'sandrun-pack-'))
  await exec('npm', ['pack', '--pack-destination', work], { cwd: repo, maxBuffer: 64 * 1024 * 1024 })
  const tarball = (await readdir(work)).find((name) => name.endsWith('.tgz'))!
  project = path.join(work, 'project')
  await cp(await realpath(path.join(repo, 'node_modules')), path.join(project, 'node_modules'), { recursive: true, verbatimSymlinks: true })
  await rm(path.join(project, 'node_modules', '.package-lock.json'), { force: true })
  await writeFile(path.join(project, 'package.json'), JSON.stringify({ name: 'consumer', version: '1.0.0', private: true, type: 'module' }))
  await exec('npm', ['install', path.join(work, tarball), '--offline', '--no-audit', '--no-fund', '--no-package-lock'], { cwd: project })
  gateway = await startTestGateway()
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
}, 600_000)

afterAll(async () => {
  await gateway?.close()
  if (work) await rm(work, { recursive: true, force: true })
})

const program = `import { createSandrunClient } from 'sandrun/client'
const client = createSandrunClient({ baseUrl: process.argv[2] })
const { job_id } = await client.submit({ files: { 'main.py': 'print(6 * 7)' }, manifest: { entrypoint: 'main.py' } })
const status = await client.wait(job_id)
const logs = await client.logs(job_id)
console.log(JSON.stringify({ status: status.status, stdout: logs.stdout }))
`

describe('the packed package', () => {
  it('contains JavaScript and declarations, no TypeScript sources', async () => {
    const files = await readdir(path.join(project, 'node_modules', 'sandrun', 'dist', 'node', 'client'))
    expect(files).toContain('index.js')
    expect(files).toContain('index.d.ts')
    expect(files.some((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false)
  })

  it('sandrun/client runs from plain Node 20', async () => {
    await writeFile(path.join(project, 'plain.mjs'), program)
    const { stdout } = await exec(process.execPath, ['plain.mjs', url], { cwd: project })
    expect(JSON.parse(stdout)).toEqual({ status: 'completed', stdout: '42\n' })
  })

  it('sandrun/client runs from a bundle (esbuild) and type-checks with tsc', async () => {
    await writeFile(path.join(project, 'bundled.ts'), program.replace("process.argv[2] })", "process.argv[2]! })"))
    await exec(path.join(project, 'node_modules', '.bin', 'esbuild'), ['bundled.ts', '--bundle', '--platform=node', '--format=esm', '--packages=bundle', '--external:esbuild', '--outfile=bundle.mjs', '--log-level=warning', '--banner:js=import { createRequire } from "node:module"; const require = createRequire(import.meta.url);'], { cwd: project })
    const { stdout } = await exec(process.execPath, ['bundle.mjs', url], { cwd: project })
    expect(JSON.parse(stdout)).toEqual({ status: 'completed', stdout: '42\n' })
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [path.join(repo, 'node_modules/@types')] }, files: ['bundled.ts'] }))
    await exec(process.execPath, [path.join(repo, 'node_modules/typescript/bin/tsc'), '-p', '.'], { cwd: project })
  })

  it('the sandrun bin runs from the build and runs a job in the sandbox', async () => {
    const bin = path.join(project, 'node_modules', '.bin', 'sandrun')
    expect((await exec(bin, ['help'], { cwd: project })).stdout).toMatch(/^Usage: sandrun <command>/)
    await writeFile(path.join(project, 'hello.py'), 'print("hello from the packed sandrun")\n')
    expect((await exec(bin, ['exec', 'hello.py'], { cwd: project })).stdout).toBe('hello from the packed sandrun\n')
  })
})
