// A stand-in Sandbox for unit tests of the queue and retention logic (no bwrap): the manifest's
// first arg picks the behaviour: "hang" waits until cancelled, "fail" exits 1, anything else
// prints "hello" and writes out.txt. `started` records the jobs that began, in order, `weights`
// the CPU weight each was given as it began, and `reports` each one's usage report (what the real
// sandbox calls about once a second; a test calls it and sees the backend's answer). Asked for a
// report out of turn (`onReporter`, counted in `asked`), a job reports that it used nothing, unless
// `reportsOnAsk` is false: then only the test's own calls report.
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { admitJob } from '../../sandbox/admitJob.ts'
import { environmentTemplates } from '../../sandbox/environments/templates.ts'
import { requirementsConfig } from '../../sandbox/requirements/requirementsConfig.ts'
import type { HostCapabilities, RunJobParameters, Sandbox } from '../../sandbox/sandbox.ts'
import type { RunJobResult } from '../../sandbox/types.ts'
import { createHash } from 'node:crypto'

export type FakeSandbox = Sandbox & {
  started: string[]
  weights: Record<string, number>
  reports: Record<string, NonNullable<RunJobParameters['onUsage']>>
  /** How many times each job was asked for a report out of turn. */
  asked: Record<string, number>
}

export function createFakeSandbox({ reportsOnAsk = true }: { reportsOnAsk?: boolean } = {}): FakeSandbox {
  const started: string[] = []
  const weights: Record<string, number> = {}
  const reports: FakeSandbox['reports'] = {}
  const asked: FakeSandbox['asked'] = {}
  // Only the default template, no GPU and no package index: what a bare host offers.
  const host = {
    environments: environmentTemplates.map((template) => ({ template, installed: template.packages.length === 0, versions: {}, missing: [...template.packages] })),
    gpus: { gpus: [], controlDevices: [], note: null },
    requirements: requirementsConfig(),
  }
  const capabilities: HostCapabilities = {
    bwrapVersion: null,
    userNamespaces: true,
    seccomp: true,
    cgroupVersion: null,
    cgroupControllers: [],
    isolation: 'rlimits',
    isolationNote: 'fake sandbox for tests',
    cgroupRemedy: null,
    interpreters: [{ name: 'bash', path: '/bin/bash', available: true, version: '5' }],
    environments: host.environments,
    gpus: host.gpus,
    packageIndexes: { pip: false, npm: false },
    processLauncher: 'direct',
    processLauncherNote: null,
    warmSandboxes: 0,
  }
  return {
    started,
    weights,
    reports,
    asked,
    capabilities,
    admitJob: (parameters) => admitJob(host, parameters),
    warmStarts: () => 0,
    limits: { pids: 10, workBytes: 1e6, tmpBytes: 1e6, outputCaptureBytes: 1024, maxOutputFiles: 10, maxOutputBytes: 1e6 },
    async runJob({ manifest, outputDir, signal, onOutput, output, onStart, onUsage, onReporter, cpuWeight }: RunJobParameters): Promise<RunJobResult> {
      started.push(manifest.args.join(' '))
      weights[manifest.args.join(' ')] = cpuWeight?.() ?? 1
      if (onUsage) reports[manifest.args.join(' ')] = onUsage
      onStart?.()
      const name = manifest.args.join(' ')
      onReporter?.(() => {
        asked[name] = (asked[name] ?? 0) + 1
        if (onUsage && reportsOnAsk) onUsage({ cpuSeconds: 0, outputBytes: 0, inflatedBytes: 0, held: false })
      })
      const mode = manifest.args[0]
      if (mode === 'hang') {
        await new Promise<void>((resolve) => (signal?.aborted ? resolve() : signal?.addEventListener('abort', () => resolve())))
        return { exitCode: null, termination: 'cancelled', cpuSeconds: 0, memoryPeakBytes: 0, wallTimeMs: 1, stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), stdoutTruncated: false, stderrTruncated: false, outputs: [], outputsTruncated: false }
      }
      // Kept by the caller's keeper where it gives one (as the real sandbox does), and passed on live.
      output?.append('stdout', Buffer.from('hello\n'))
      onOutput?.('stdout', Buffer.from('hello\n'))
      const stdout = output?.snapshot().stdout ?? Buffer.from('hello\n')
      const content = Buffer.from('result\n')
      const hostPath = path.join(outputDir, 'out.txt')
      await writeFile(hostPath, content)
      const sha256 = createHash('sha256').update(content).digest('hex')
      return {
        exitCode: mode === 'fail' ? 1 : 0,
        termination: 'exited',
        cpuSeconds: 0.5,
        memoryPeakBytes: 1000,
        wallTimeMs: 2,
        stdout,
        stderr: Buffer.alloc(0),
        stdoutTruncated: false,
        stderrTruncated: false,
        outputs: [{ path: 'out.txt', sizeBytes: content.length, sha256, hostPath }],
        outputsTruncated: false,
      }
    },
    async close() {},
  }
}
