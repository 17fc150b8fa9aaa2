// `sandrun exec` and `sandrun doctor` as a user runs them: the real CLI binary, the real sandbox.
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { probeCgroupLimits } from '../host/probeCgroupLimits.ts'
import { sandrunBin as bin } from '../runSandrunCli.ts'


function sandrun(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // From another directory, as a user would: nothing may depend on the repository being the cwd.
    execFile(process.execPath, [bin, ...args], { timeout: 60_000, cwd: os.tmpdir() }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}

describe('sandrun exec', () => {
  it('streams output, passes arguments and mirrors the exit code', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sandrun-cli-'))
    const file = path.join(dir, 'main.py')
    writeFileSync(file, 'import sys\nprint("args:", sys.argv[1:])\nsys.exit(3)\n')
    const { code, stdout, stderr } = await sandrun(['exec', file, '--', 'one', 'two'])
    expect(stdout).toContain("args: ['one', 'two']")
    expect(stderr).toContain('exited, exit 3')
    expect(code).toBe(3)
  })

  it('prints JSON and copies output files with --out', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sandrun-cli-'))
    writeFileSync(path.join(dir, 'job.json'), JSON.stringify({ entrypoint: 'make.sh', outputs: ['*.txt'] }))
    writeFileSync(path.join(dir, 'make.sh'), 'echo made > result.txt\necho done\n')
    const out = path.join(dir, 'out')
    const { code, stdout } = await sandrun(['exec', dir, '--json', '--out', out])
    expect(code).toBe(0)
    const result = JSON.parse(stdout) as { termination: string; stdout: string; outputs: { path: string }[] }
    expect(result.termination).toBe('exited')
    expect(result.stdout).toBe('done\n')
    expect(result.outputs.map((o) => o.path)).toEqual(['result.txt'])
    expect(readFileSync(path.join(out, 'result.txt'), 'utf8')).toBe('made\n')
  })

  it('refuses a manifest error with a message that says what to fix', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sandrun-cli-'))
    const file = path.join(dir, 'main.py')
    writeFileSync(file, 'print(1)\n')
    const { code, stderr } = await sandrun(['exec', file, '--manifest', '{"memory_mb": 999999}'])
    expect(code).not.toBe(0)
    expect(stderr).toMatch(/memory_mb/)
  })
})

describe('sandrun doctor', () => {
  it('reports bubblewrap, cgroups and every interpreter', async () => {
    const { code, stdout } = await sandrun(['doctor', '--json'])
    expect(code).toBe(0)
    const caps = JSON.parse(stdout) as { bwrapVersion: string; isolation: string; interpreters: { name: string; available: boolean }[] }
    expect(caps.bwrapVersion).toMatch(/^\d+\.\d+/)
    // Full isolation needs cgroups; a host without any runs jobs under rlimits and says so.
    expect(caps.isolation).toBe(probeCgroupLimits().supported ? 'full' : 'rlimits')
    expect(caps.interpreters.map((i) => i.name).sort()).toEqual(['Rscript', 'bash', 'node', 'perl', 'php', 'python3', 'ruby', 'sh'])
    expect(caps.interpreters.find((i) => i.name === 'python3')?.available).toBe(true)
  })
})
