// Sets up the sandbox once per host process: finds bwrap and the interpreters, detects the
// installed environment templates and GPUs, validates the package indexes, builds /etc and the
// seccomp program, and picks the cgroup backend (v2, v1, or rlimits), so a broken host or a bad
// option fails at start-up with a clear message rather than on the first job.
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { admitJob } from './admitJob.ts'
import { detectCgroups } from './cgroups/detectCgroups.ts'
import { closeInheritedFds } from './closeInheritedFds.ts'
import { mountDevDir } from './devDir.ts'
import { mountEtcDir } from './mountEtcDir.ts'
import { detectEnvironments, type EnvironmentDetection } from './environments/detectEnvironments.ts'
import { SandboxError } from './errors.ts'
import { findExecutable } from './findExecutable.ts'
import { detectGpus } from './gpu/detectGpus.ts'
import type { GpuDetection } from './gpu/gpuInfo.ts'
import { detectInterpreters } from './languages.ts'
import { systemDirArgs } from './bwrapArgs.ts'
import { cachedMinimalEtc } from './minimalEtc.ts'
import { reapStaleInstances, writeOwnerRecord } from './reapStaleInstances.ts'
import { requirementsConfig, type RequirementsConfigInput } from './requirements/requirementsConfig.ts'
import { runJob } from './runJob.ts'
import type { SandboxRuntime } from './sandboxRuntime.ts'
import type { HostCapabilities, Sandbox, SandboxLimits } from './sandbox.ts'
import { writeSeccompFilter } from './seccomp/index.ts'
import { buildNativeTools, createNativeSpawner } from './spawner/createNativeSpawner.ts'
import { createSpawner } from './spawner/createSpawner.ts'
import { nativeToolsDir } from './spawner/nativeToolsDir.ts'
import { probeCloneIntoCgroup } from './spawner/probeCloneIntoCgroup.ts'
import { runTool } from './spawner/runTool.ts'
import type { Spawner } from './spawner/spawnerClient.ts'
import { createWarmPool } from './warmPool.ts'
import { createWorkspacePool } from './workspacePool.ts'
import { claimJobUsers, type ClaimJobUsersParameters } from './claimJobUsers.ts'
import { parseManifest } from './manifest.ts'
import { errorMessageOf } from '../errors/index.ts'

const mib = 1024 * 1024

export const defaultSandboxLimits: SandboxLimits = {
  // Enough for interpreters with thread pools and a small multiprocessing pool; stops fork bombs.
  pids: 100,
  // The job directory is a 100 MB tmpfs (docs/security.md, "The layers").
  workBytes: 100 * mib,
  // /tmp is scratch space; its pages count against the memory limit like /work's.
  tmpBytes: 64 * mib,
  // Per stream; a job printing more is not blocked, the rest is dropped and marked truncated.
  outputCaptureBytes: 10 * mib,
  maxOutputFiles: 1000,
  maxOutputBytes: 100 * mib,
}

export type CreateSandboxOptions = {
  /** Host directory for workspaces, /etc and the seccomp program. Default: /run/sandrun/<random> as root. */
  runtimeDir?: string
  /** The uid/gid jobs have inside the sandbox (the service is root). Default 65534 ("sandbox" in its /etc/passwd). */
  sandboxUid?: number
  sandboxGid?: number
  /**
   * Where the host uids come from that jobs run as, one per job (the service is root): a block of
   * `blockSize` from `first` is claimed per service (claimJobUsers.ts). Default 2,000,000,000, blocks of 1024.
   */
  jobUids?: ClaimJobUsersParameters | undefined
  limits?: Partial<SandboxLimits>
  /** Set false to skip cgroups even where available (tests of the rlimit fallback). */
  cgroups?: boolean
  /** Idle tmpfs workspaces kept mounted for reuse (each costs nothing until written). */
  keepIdleWorkspaces?: number
  /** How often the CPU budget is checked, in ms. */
  cpuPollMs?: number
  /** How often a running job's usage goes to RunJobParameters.onUsage, in ms (default 1000). */
  usagePollMs?: number
  /**
   * Sandboxes kept started ahead of jobs (default 2; 0: none). Each is a bwrap instance waiting
   * with an empty workspace and its own cgroup; a job of the default shape takes one and skips
   * the sandbox set-up. Needs the native launcher and cgroups it can start processes in (v1 as
   * root; v2 with clone3, Linux 5.7+); elsewhere jobs start cold.
   */
  warmSandboxes?: number
  /**
   * What starts job processes. `native` (default): sandrun-spawn.c, built with the host's C
   * compiler, falling back to `node` (a small Node process) where it cannot be built; `direct`:
   * this process (Node's spawn forks it, and that cost grows with its memory).
   */
  spawner?: 'native' | 'node' | 'direct'
  /**
   * Local package indexes for job `requirements` (a pip wheelhouse, an npm cache). Without one of a
   * kind, jobs that need it are refused. Invalid values throw HOST_UNSUPPORTED here.
   */
  requirements?: RequirementsConfigInput | undefined
  /** Detected at start-up (dpkg-query) unless given; tests pass their own. */
  environments?: EnvironmentDetection[] | undefined
  /** Detected at start-up (/dev, nvidia-smi) unless given; tests pass their own. */
  gpus?: GpuDetection | undefined
}

const run = promisify(execFile)

function userNamespacesEnabled(): boolean {
  try {
    if (Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) === 0) return false
  } catch {
    // older kernels: no such knob
  }
  try {
    return readFileSync('/proc/sys/kernel/unprivileged_userns_clone', 'utf8').trim() !== '0'
  } catch {
    return true
  }
}

export async function createSandbox(options: CreateSandboxOptions = {}): Promise<Sandbox> {
  const bwrapPath = findExecutable(['/usr/bin/bwrap', '/usr/local/bin/bwrap'])
  if (!bwrapPath) {
    throw new SandboxError('HOST_UNSUPPORTED', 'bubblewrap is not installed.', {
      details: 'Install it with `apt-get install bubblewrap` (or run `npm run setup`).',
    })
  }
  // Before anything is created: a bad index option is the operator's to fix.
  const requirements = requirementsConfig(options.requirements)
  const isRoot = process.getuid?.() === 0
  const instance = randomBytes(6).toString('hex')
  const runtimeRoot = privateRuntimeRoot(isRoot ? '/run/sandrun' : path.join(os.tmpdir(), `sandrun-${process.getuid?.()}`))
  if (!options.runtimeDir) await reapStaleInstances(runtimeRoot)
  const runtimeDir = options.runtimeDir ?? path.join(runtimeRoot, instance)
  mkdirSync(runtimeDir, { recursive: true, mode: 0o711 })
  const sandboxUser = isRoot ? { uid: options.sandboxUid ?? 65534, gid: options.sandboxGid ?? 65534 } : undefined
  // As root every job runs as a host uid of its own (per-user kernel limits become per job).
  const jobUsers = isRoot ? await claimJobUsers(options.jobUids) : undefined
  const smokeFailure = bwrapSmokeTest(bwrapPath, jobUsers ? { uid: jobUsers.first, gid: jobUsers.first } : undefined)
  if (smokeFailure) {
    await jobUsers?.close()
    throw new SandboxError('HOST_UNSUPPORTED', 'bubblewrap cannot create a sandbox on this host.', {
      details: `${smokeFailure.split('\n')[0]} Unprivileged user namespaces must be enabled (user.max_user_namespaces > 0, and kernel.unprivileged_userns_clone=1 where that setting exists).`,
    })
  }
  const uidInside = sandboxUser?.uid ?? process.getuid?.() ?? 65534
  const gidInside = sandboxUser?.gid ?? process.getgid?.() ?? 65534

  const cachedEtc = cachedMinimalEtc({ root: options.runtimeDir ? runtimeDir : runtimeRoot, uid: uidInside, gid: gidInside })
  const etcDir = (isRoot ? await mountEtcDir(path.join(runtimeDir, 'etc'), cachedEtc) : null) ?? cachedEtc
  const seccompPath = writeSeccompFilter(runtimeDir)
  const devDir = isRoot ? await mountDevDir(path.join(runtimeDir, 'dev')) : null

  const cgroupDetection = options.cgroups === false ? { backend: null, note: 'cgroups disabled by configuration', remedy: null } : detectCgroups({ instance })
  const cgroups = cgroupDetection.backend
  const prlimitPath = cgroups ? null : findExecutable(['/usr/bin/prlimit', '/bin/prlimit'])
  writeOwnerRecord(runtimeDir, { pid: process.pid, cgroupDirs: cgroups?.parentDirs ?? [] })

  const [interpreters, bwrapVersion, environments, gpus] = await Promise.all([
    detectInterpreters(),
    run(bwrapPath, ['--version']).then((r) => r.stdout.trim().replace(/^bubblewrap\s+/, ''), () => null),
    options.environments ?? detectEnvironments(),
    options.gpus ?? detectGpus(),
  ])

  // Workspaces are mounted through the launcher once it runs (see runTool); before, directly.
  let toolLauncher: () => Spawner | undefined = () => undefined
  const workspaces = await createWorkspacePool({
    root: path.join(runtimeDir, 'work'),
    tmpfs: isRoot,
    runTool: (name, args) => runTool(toolLauncher(), name, args),
    // Mounting and unmounting cost a process each: enough kept for busy hosts and the warm pool.
    keepIdle: options.keepIdleWorkspaces ?? 16,
  })

  const limits: SandboxLimits = { ...defaultSandboxLimits, ...options.limits }
  // Two spares: a job can start while the previous one's workspace is still being emptied.
  await workspaces.prepare(2, limits.workBytes)
  closeInheritedFds()
  const launcher = options.spawner === 'direct' ? null : await startSpawner(options.spawner ?? 'native', runtimeRoot, runtimeDir)
  const spawner = launcher?.spawner
  let closed = false
  const runtime: SandboxRuntime = {
    spawner,
    bwrapPath,
    prlimitPath,
    etcDir,
    devDir,
    seccompPath,
    cgroups,
    workspaces,
    interpreters: new Map(interpreters.map((i) => [i.name, i])),
    sandboxUser,
    jobUsers,
    limits,
    cpuPollMs: options.cpuPollMs ?? 50,
    usagePollMs: options.usagePollMs ?? 1000,
    pendingCleanups: new Set(),
    warmStarts: 0,
    environments,
    gpus,
    requirements,
  }

  toolLauncher = () => runtime.spawner
  let launcherNote = launcher?.note ?? null
  if (cgroups?.version === 'v2' && spawner?.kind === 'native') {
    const failure = await probeCloneIntoCgroup(spawner, cgroups)
    runtime.cloneIntoCgroup = failure === null
    if (failure) launcherNote = `cannot start processes inside their cgroup (${failure}): each job is moved into it after it starts, ~10 ms more`
  }

  const warmSandboxes = options.warmSandboxes ?? 2
  const placesInCgroups = (cgroups?.version === 'v1' && sandboxUser !== undefined) || runtime.cloneIntoCgroup === true
  if (warmSandboxes > 0 && launcher?.execTool && placesInCgroups && seccompPath) {
    runtime.warmPool = createWarmPool({ runtime, execTool: launcher.execTool, size: warmSandboxes, idleMemoryBytes: parseManifest({ entrypoint: 'job.sh' }).memory_mb * mib })
  }

  // A native launcher that dies (it should not) is started again, a few times a minute at most;
  // meanwhile, and beyond that, jobs start directly from this process.
  const restarts: number[] = []
  const keepLauncher = (current: Spawner, binary: string): void => {
    void current.exited.then(async () => {
      const now = Date.now()
      while (restarts.length > 0 && restarts[0]! < now - 60_000) restarts.shift()
      if (closed || restarts.length >= 3) return
      restarts.push(now)
      try {
        const next = await createNativeSpawner(binary)
        if (closed) return void (await next.close())
        runtime.spawner = next
        runtime.warmPool?.resume()
        keepLauncher(next, binary)
      } catch {
        // it did not start either: direct starts it is
      }
    })
  }
  if (spawner?.kind === 'native' && launcher?.spawnTool) keepLauncher(spawner, launcher.spawnTool)

  const isolationNotes: string[] = []
  if (!cgroups) isolationNotes.push(`${cgroupDetection.note}; limits use rlimits (per process, not per job)`)
  if (!isRoot) isolationNotes.push('not root: /work is a plain directory without a size cap')
  const capabilities: HostCapabilities = {
    bwrapVersion,
    userNamespaces: userNamespacesEnabled(),
    seccomp: true,
    cgroupVersion: cgroups?.version ?? null,
    cgroupControllers: cgroups?.controllers ?? [],
    isolation: cgroups ? 'full' : 'rlimits',
    isolationNote: isolationNotes.length > 0 ? isolationNotes.join('; ') : null,
    interpreters,
    environments,
    gpus,
    packageIndexes: { pip: requirements.pipIndex !== null, npm: requirements.npmIndex !== null },
    processLauncher: spawner?.kind ?? 'direct',
    warmSandboxes: runtime.warmPool ? warmSandboxes : 0,
    processLauncherNote: launcherNote,
    cgroupRemedy: cgroupDetection.remedy,
  }

  const active = new Set<AbortController>()
  const sandbox: Sandbox = {
    capabilities,
    limits,
    admitJob: (parameters) => admitJob(runtime, parameters),
    async runJob(parameters) {
      if (closed) throw new SandboxError('SANDBOX_FAILED', 'The sandbox is shut down.')
      const controller = new AbortController()
      const onAbort = () => controller.abort()
      parameters.signal?.addEventListener('abort', onAbort, { once: true })
      if (parameters.signal?.aborted) controller.abort()
      active.add(controller)
      try {
        return await runJob(runtime, { ...parameters, signal: controller.signal })
      } finally {
        active.delete(controller)
        parameters.signal?.removeEventListener('abort', onAbort)
      }
    },
    warmStarts: () => runtime.warmStarts,
    async close() {
      closed = true
      for (const controller of active) controller.abort()
      while (active.size > 0) await new Promise((r) => setTimeout(r, 5))
      await Promise.all(runtime.pendingCleanups)
      await runtime.warmPool?.close()
      // The launcher goes last: the unmounts below start through it, not by forking this process
      // (hundreds of MB under load: ~0.4 s a fork).
      await workspaces.close()
      await cgroups?.close().catch(() => {})
      await jobUsers?.close()
      if (devDir) await runTool(toolLauncher(), 'umount', ['-l', devDir]).catch(() => {})
      if (etcDir !== cachedEtc) await runTool(toolLauncher(), 'umount', ['-l', etcDir]).catch(() => {})
      await runtime.spawner?.close()
      rmSync(runtimeDir, { recursive: true, force: true })
    },
  }
  return sandbox
}

/**
 * The runtime root holds the launcher this service executes and the records it trusts at the next
 * start, so it must be this user's and writable by nobody else. A fixed name in a shared directory
 * (rootless: /tmp) may have been made by another user first: then a fresh private one is used.
 */
function privateRuntimeRoot(preferred: string): string {
  mkdirSync(preferred, { recursive: true, mode: 0o711 })
  const stat = lstatSync(preferred)
  if (stat.isDirectory() && stat.uid === process.getuid?.() && (stat.mode & 0o022) === 0) return preferred
  return mkdtempSync(path.join(os.tmpdir(), 'sandrun-'))
}

/** The native launcher when it builds and starts (kept in the runtime root or a cache directory, shared by instances), else the Node spawner. */
async function startSpawner(kind: 'native' | 'node', runtimeRoot: string, runtimeDir: string): Promise<{ spawner: Spawner; note: string | null; spawnTool?: string; execTool?: string }> {
  if (kind === 'node') return { spawner: await createSpawner({ dir: runtimeDir }), note: 'configured' }
  const toolsDir = nativeToolsDir(runtimeRoot)
  const native = toolsDir.dir === null ? { tools: null, reason: toolsDir.reason } : await buildNativeTools(toolsDir.dir)
  if (native.tools !== null) {
    try {
      return { spawner: await createNativeSpawner(native.tools.spawn), note: null, spawnTool: native.tools.spawn, execTool: native.tools.exec }
    } catch (error) {
      return { spawner: await createSpawner({ dir: runtimeDir }), note: `the native launcher did not start (${errorMessageOf(error)})` }
    }
  }
  return { spawner: await createSpawner({ dir: runtimeDir }), note: `${native.reason}: job starts cost ~2 ms more CPU` }
}

/**
 * Can bwrap create a sandbox here, as a user jobs run as? Null when it can, else bwrap's message
 * (typically: unprivileged user namespaces are disabled).
 */
export function bwrapSmokeTest(bwrapPath: string, user?: { uid: number; gid: number }): string | null {
  try {
    execFileSync(bwrapPath, ['--unshare-user', '--unshare-pid', '--unshare-net', ...systemDirArgs(), '--', '/usr/bin/true'], {
      stdio: 'pipe',
      timeout: 10_000,
      ...(user ?? {}),
    })
    return null
  } catch (error) {
    // execFileSync's error carries the child's stderr: bwrap's own words on why it cannot start.
    const stderr = error instanceof Error && 'stderr' in error && Buffer.isBuffer(error.stderr) ? error.stderr.toString() : undefined
    return (stderr ?? String(error)).trim()
  }
}
