// Without root: a user whose cgroup subtree systemd delegated (`systemd-run --user --scope -p
// Delegate=yes`, or a unit with Delegate=yes) runs jobs with full cgroup limits; without the
// delegation `sandrun doctor` says exactly what is missing. Needs systemd and a user manager for
// the user `sandrun` (the test VM, `npm run test:vm`, has both).
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { hostSlowdown } from '../host/hostSlowdown.ts'
import { probeSystemdUser } from '../host/probeSystemdUser.ts'
import { requireHost } from '../host/requireHost.ts'
import { runAsUser } from './runAsUser.ts'
import { sandrunBin as bin } from '../runSandrunCli.ts'

const systemd = probeSystemdUser()
let dir: string

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'sandrun-delegation-'))
  writeFileSync(path.join(dir, 'hog.py'), "print('started', flush=True)\nx = bytearray(200 * 1024 * 1024)\nfor i in range(0, len(x), 4096):\n    x[i] = 1\nprint('survived')\n")
  if (systemd.user) for (const entry of ['', 'hog.py']) chownSync(path.join(dir, entry), systemd.user.uid, systemd.user.gid)
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))
beforeEach((context) => requireHost(context, systemd))

// Each test runs the CLI (a sandbox start-up) once or twice: minutes on an emulated CPU.
const testTimeout = 60_000 * hostSlowdown()

type Capabilities = { isolation: string; isolationNote: string | null; cgroupVersion: string | null; cgroupRemedy: string | null; warmSandboxes: number }

describe('a non-root user', () => {
  it('in a delegated scope gets full cgroup limits: v2, the memory limit ends a hog with oom', { timeout: testTimeout }, async () => {
    const doctor = await runAsUser({ user: systemd.user!, command: [process.execPath, bin, 'doctor', '--json'], delegated: true, cwd: dir })
    expect(doctor, doctor.stderr).toMatchObject({ code: 0 })
    const caps = JSON.parse(doctor.stdout) as Capabilities
    expect({ isolation: caps.isolation, cgroupVersion: caps.cgroupVersion, cgroupRemedy: caps.cgroupRemedy }).toEqual({ isolation: 'full', cgroupVersion: 'v2', cgroupRemedy: null })

    const hog = await runAsUser({ user: systemd.user!, command: [process.execPath, bin, 'exec', 'hog.py', '--json', '--manifest', '{"memory_mb": 64}'], delegated: true, cwd: dir })
    expect(hog.stdout, hog.stderr).toMatch(/^\{/)
    const result = JSON.parse(hog.stdout) as { termination: string; stdout: string; memory_peak_bytes?: number }
    expect(result.termination).toBe('oom')
    expect(result.stdout).toContain('started')
    expect(result.stdout).not.toContain('survived')
  })

  it('without delegation gets rlimits, and doctor says what is missing and how to fix it', { timeout: testTimeout }, async () => {
    const doctor = await runAsUser({ user: systemd.user!, command: [process.execPath, bin, 'doctor'], delegated: false, cwd: dir })
    expect(doctor, doctor.stderr).toMatchObject({ code: 0 })
    expect(doctor.stdout).toMatch(/isolation\s+rlimits — cgroup v2 is not delegated to this user/)
    expect(doctor.stdout).toMatch(/to fix\s+.*Delegate=yes.*systemd-run --user --scope -p Delegate=yes/)
  })
})
