// Runs one command in a bwrap sandbox set up like the job runner's (same bwrapArgs, generated
// /etc, seccomp filter, fixed environment, unprivileged uid when root) on a workspace that
// survives between calls, so an install step and the job that uses it can run one after the other.
// Extra bwrap args (index binds) go where the runner puts them (bwrapArgs' extraArgs).
import { spawn } from 'node:child_process'
import { chmodSync, chownSync, closeSync, mkdtempSync, openSync, readdirSync, lchownSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { bwrapArgs } from '../../sandbox/bwrapArgs.ts'
import { fixedEnvironment } from '../../sandbox/environment.ts'
import { buildMinimalEtc } from '../../sandbox/minimalEtc.ts'
import { writeSeccompFilter } from '../../sandbox/seccomp/index.ts'

export type SandboxedRun = { code: number | null; stdout: string; stderr: string }

export type Sandboxed = {
  workDir: string
  run(parameters: { command: string[]; env?: Record<string, string>; extraArgs?: string[] }): Promise<SandboxedRun>
  close(): void
}

const isRoot = process.getuid?.() === 0
const uid = isRoot ? 65534 : process.getuid!()
const gid = isRoot ? 65534 : process.getgid!()

function chownTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name)
    lchownSync(full, uid, gid)
    if (entry.isDirectory()) chownTree(full)
  }
}

export function createSandboxed(): Sandboxed {
  const root = mkdtempSync(path.join(tmpdir(), 'sandrun-env-test-'))
  // The unprivileged uid must traverse it to reach /work and the generated /etc.
  chmodSync(root, 0o755)
  const etcDir = path.join(root, 'etc')
  const workDir = path.join(root, 'work')
  mkdirSync(workDir)
  buildMinimalEtc({ dir: etcDir, uid, gid })
  const seccompPath = writeSeccompFilter(root)
  return {
    workDir,
    async run({ command, env = {}, extraArgs = [] }) {
      chownSync(workDir, uid, gid)
      chownTree(workDir)
      const seccompFd = openSync(seccompPath, 'r')
      const args = bwrapArgs({ etcDir, workDir, tmpBytes: 64 * 1024 * 1024, command, seccompFd: 3, extraArgs })
      try {
        const child = spawn('/usr/bin/bwrap', args, {
          stdio: ['ignore', 'pipe', 'pipe', seccompFd],
          env: { ...env, ...fixedEnvironment },
          ...(isRoot ? { uid, gid } : {}),
        })
        let stdout = ''
        let stderr = ''
        child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')))
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')))
        const code = await new Promise<number | null>((resolve, reject) => {
          child.once('error', reject)
          child.once('close', resolve)
        })
        return { code, stdout, stderr }
      } finally {
        closeSync(seccompFd)
      }
    },
    close() {
      rmSync(root, { recursive: true, force: true })
    },
  }
}
