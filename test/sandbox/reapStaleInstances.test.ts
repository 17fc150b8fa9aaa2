// A service killed with SIGKILL cannot clean up: its tmpfs workspaces stay mounted and its cgroups
// stay behind. The next sandbox started on the host removes them.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { createSandbox } from '../../sandbox/index.ts'
import { probeCgroupLimits } from '../host/probeCgroupLimits.ts'
import { requireHost } from '../host/requireHost.ts'

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'holdSandbox.ts')

function mountsOf(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
}

describe('a sandbox left behind by a crash', () => {
  it('is removed by the next sandbox: mounts, cgroups and the job process', async (context) => {
    requireHost(context, probeCgroupLimits())
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], { stdio: ['ignore', 'pipe', 'inherit'] })
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('running') && resolve())
      child.once('exit', (code) => reject(new Error(`fixture exited early with ${code}`)))
    })
    const owner = child.pid!
    const instanceDir = readdirSync('/run/sandrun')
      .map((name) => path.join('/run/sandrun', name))
      .find((dir) => {
        try {
          return (JSON.parse(readFileSync(path.join(dir, 'owner.json'), 'utf8')) as { pid: number }).pid === owner
        } catch {
          return false
        }
      })
    expect(instanceDir).toBeDefined()
    const record = JSON.parse(readFileSync(path.join(instanceDir!, 'owner.json'), 'utf8')) as { cgroupDirs: string[] }
    expect(mountsOf(instanceDir!).length).toBeGreaterThan(0)
    expect(record.cgroupDirs.length).toBeGreaterThan(0)

    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGKILL')
    await exited

    const next = await createSandbox()
    try {
      expect(existsSync(instanceDir!)).toBe(false)
      expect(mountsOf(instanceDir!)).toEqual([])
      for (const dir of record.cgroupDirs) expect(existsSync(dir)).toBe(false)
    } finally {
      await next.close()
    }
  })
})
