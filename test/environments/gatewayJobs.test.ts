// Environments, requirements and GPU jobs through the REST API on a real port, with the real
// sandbox: a requirements.txt installed from a wheelhouse the test builds, a failing install, the
// `nlp` template (installed here and by `npm run setup`), and the 400s of a host that lacks what a
// job asks for (a template, a GPU, a package index).
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { detectEnvironments } from '../../sandbox/environments/detectEnvironments.ts'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { jobSubmission, startTestGateway } from '../gateway/testGateway.ts'
import { buildWheel } from './buildWheel.ts'

type Gateway = Awaited<ReturnType<typeof startTestGateway>> & { url: string }

async function listening(gateway: Awaited<ReturnType<typeof startTestGateway>>): Promise<Gateway> {
  const url = await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  return Object.assign(gateway, { url })
}

async function submit(gateway: Gateway, files: Record<string, string>, manifest: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const { body, contentType } = await jobSubmission(files, manifest)
  const response = await fetch(`${gateway.url}/submit`, { method: 'POST', body, headers: { 'content-type': contentType } })
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

async function get<T = Record<string, unknown>>(gateway: Gateway, route: string): Promise<T> {
  const response = await fetch(`${gateway.url}${route}`)
  expect(response.status).toBe(200)
  return (await response.json()) as T
}

type Finished = { status: string; execution_metadata: { exit_code: number | null; termination: string; environment: string }; output_files: Record<string, unknown> }
type Logs = { stdout: string; stderr: string }

async function run(gateway: Gateway, files: Record<string, string>, manifest: unknown): Promise<{ status: Finished; logs: Logs }> {
  const accepted = await submit(gateway, files, manifest)
  expect(accepted).toMatchObject({ status: 200 })
  const jobId = accepted.body.job_id as string
  const status = await get<Finished>(gateway, `/status/${jobId}?wait=60`)
  return { status, logs: await get<Logs>(gateway, `/logs/${jobId}?format=json`) }
}

let root: string
let wheelhouse: string

beforeAll(() => {
  root = mkdtempSync(path.join(tmpdir(), 'sandrun-gateway-jobs-'))
  wheelhouse = path.join(root, 'wheelhouse')
  mkdirSync(wheelhouse)
  buildWheel({ dir: wheelhouse, name: 'tinydep', version: '2.0', source: 'ANSWER = 42\n' })
  buildWheel({ dir: wheelhouse, name: 'tinyapp', version: '1.0', source: 'from tinydep import ANSWER\ndef answer():\n    return ANSWER\n', requires: ['tinydep>=2'] })
  // The sandbox user only reads the wheelhouse.
  execFileSync('chmod', ['-R', 'a+rX', root])
})
afterAll(() => rmSync(root, { recursive: true, force: true }))

describe('a host with a wheelhouse and its installed templates', () => {
  let gateway: Gateway
  beforeAll(async () => {
    gateway = await listening(await startTestGateway({ local: { pipIndex: wheelhouse } }))
  })
  afterAll(() => gateway.close())

  it('installs requirements.txt from the wheelhouse before the job, which imports the package', async () => {
    const { status, logs } = await run(
      gateway,
      { 'main.py': 'import tinyapp\nprint(tinyapp.answer())\nopen("result.txt", "w").write("done")\n', 'requirements.txt': 'tinyapp==1.0\n' },
      { entrypoint: 'main.py', requirements: 'requirements.txt' },
    )
    expect(status).toMatchObject({ status: 'completed', execution_metadata: { exit_code: 0, termination: 'exited' } })
    // The job's stdout is its own; the installer speaks on stderr, between [sandrun] lines.
    expect(logs.stdout).toBe('42\n')
    expect(logs.stderr).toMatch(/^\[sandrun\] installing requirements \(pip: requirements\.txt\)\n[\s\S]*Successfully installed tinyapp-1\.0 tinydep-2\.0\n\[sandrun\] requirements installed; starting the job\n$/)
    // What was installed is not an output; what the job wrote is.
    expect(Object.keys(status.output_files)).toEqual(['result.txt'])
    expect(logs.stderr).not.toContain(root)
  })

  it('fails the job, without running it, when a requirement is not in the wheelhouse', async () => {
    const { status, logs } = await run(
      gateway,
      { 'main.py': 'print("the job ran")\n', 'requirements.txt': 'tinyapp==9.9\n' },
      { entrypoint: 'main.py', requirements: 'requirements.txt' },
    )
    expect(status).toMatchObject({ status: 'failed', execution_metadata: { exit_code: 1, termination: 'exited' }, output_files: {} })
    expect(logs.stdout).toBe('')
    expect(logs.stderr).toContain('No matching distribution found for tinyapp==9.9')
    expect(logs.stderr).toMatch(/\[sandrun\] installing requirements \(pip: requirements\.txt\) failed \(exit code 1\); the job did not run\n$/)
    expect(logs.stderr).not.toContain(root)
  })

  it('refuses at submit a requirements file the offline installer must not follow', async () => {
    const refused = await submit(
      gateway,
      { 'main.py': 'print(1)\n', 'requirements.txt': 'tinyapp @ https://example.com/tinyapp-1.0-py3-none-any.whl\n' },
      { entrypoint: 'main.py', requirements: 'requirements.txt' },
    )
    expect(refused).toMatchObject({ status: 400, body: { code: 'BUNDLE_INVALID', error: expect.stringContaining('requirements.txt line 1') } })
  })

  it('runs a job that imports NLTK in the nlp template', async () => {
    const { status, logs } = await run(
      gateway,
      { 'main.py': 'from nltk.stem.porter import PorterStemmer\nprint(PorterStemmer().stem("running"))\n' },
      { entrypoint: 'main.py', environment: 'nlp' },
    )
    expect(logs).toMatchObject({ stdout: 'run\n', stderr: '' })
    expect(status).toMatchObject({ status: 'completed', execution_metadata: { environment: 'nlp', exit_code: 0 } })
  })

  it('reports every template with its installed state, versions and digests at /environments', async () => {
    const report = await get<{
      templates: Record<string, { installed: boolean; versions: Record<string, string>; missing: string[]; digest: string | null; digests: Record<string, string> }>
      interpreters: Array<{ name: string }>
      stats: { total_templates: number; installed_templates: number; available_interpreters: number }
    }>(gateway, '/environments')
    expect(Object.keys(report.templates)).toEqual(['default', 'ml-basic', 'vision', 'nlp', 'data-science', 'scientific'])
    const installed = (await detectEnvironments()).filter((d) => d.installed).map((d) => d.template.name)
    expect(Object.keys(report.templates).filter((name) => report.templates[name]!.installed)).toEqual(installed)
    const nlp = report.templates.nlp!
    expect(nlp).toMatchObject({ installed: true, missing: [], versions: { 'python3-nltk': expect.any(String) }, digest: expect.stringMatching(/^0x[0-9a-f]{64}$/) })
    expect(nlp.digests.python3).toBe(nlp.digest)
    // A digest names one package set: templates differ, so do their digests.
    expect(report.templates.default!.digest).not.toBe(nlp.digest)
    expect(report.stats).toEqual({ total_templates: 6, installed_templates: installed.length, available_interpreters: report.interpreters.length })
  })

  it('says at /health which requirements it installs and lists its GPUs', async () => {
    const health = await get(gateway, '/health')
    expect(health).toMatchObject({ status: 'healthy', package_indexes: { pip: true, npm: false }, gpus: expect.any(Array) })
  })
})

describe('a host without the template, GPU or package index a job asks for', () => {
  let sandbox: Sandbox
  let gateway: Gateway
  beforeAll(async () => {
    // Only the default template installed and no GPU, whatever this machine has.
    const environments = (await detectEnvironments()).map((d) => (d.template.name === 'default' ? d : { ...d, installed: false, versions: {}, missing: [...d.template.packages] }))
    sandbox = await createSandbox({ environments, gpus: { gpus: [], controlDevices: [], note: null } })
    gateway = await listening(await startTestGateway({ sandbox }))
  })
  afterAll(async () => {
    await gateway.close()
    await sandbox.close()
  })

  it('refuses a job for a template that is not installed with a 400 naming what is', async () => {
    const refused = await submit(gateway, { 'main.py': 'import cv2\n' }, { entrypoint: 'main.py', environment: 'vision' })
    expect(refused).toMatchObject({
      status: 400,
      body: { code: 'ENVIRONMENT_UNKNOWN', error: 'The environment "vision" is not installed on this host.', details: expect.stringContaining('Installed here: default') },
    })
  })

  it('refuses a GPU job with GPU_UNAVAILABLE', async () => {
    const refused = await submit(gateway, { 'main.py': 'print(1)\n' }, { entrypoint: 'main.py', gpu: { required: true } })
    expect(refused).toMatchObject({ status: 400, body: { code: 'GPU_UNAVAILABLE', error: 'This job needs a GPU and this host has none.' } })
    // A job that only prefers a GPU runs anyway.
    const { status } = await run(gateway, { 'main.py': 'print(1)\n' }, { entrypoint: 'main.py', gpu: { required: false } })
    expect(status.status).toBe('completed')
  })

  it('refuses requirements when no package index is configured', async () => {
    const refused = await submit(gateway, { 'main.py': 'print(1)\n', 'requirements.txt': 'tinyapp==1.0\n' }, { entrypoint: 'main.py', requirements: 'requirements.txt' })
    expect(refused).toMatchObject({ status: 400, body: { error: 'This host has no pip package index, so it cannot install "requirements.txt".' } })
  })

  it('shows no GPUs and no package indexes at /health', async () => {
    expect(await get(gateway, '/health')).toMatchObject({ gpus: [], gpu_note: null, package_indexes: { pip: false, npm: false } })
  })
})
