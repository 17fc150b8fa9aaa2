// The bubblewrap command line for one job (docs/security.md, "The layers"): every namespace, read-only system
// binds, a generated /etc, fresh /proc (without its pid 1), minimal /dev, size-capped tmpfs /tmp, the job's workspace
// at /work, and a read-only root so nothing else is writable.
import { lstatSync } from 'node:fs'

export type BwrapArgsParameters = {
  etcDir: string
  /** A prepared /dev (see devDir.ts); without one, or when extraArgs bind devices, bwrap's `--dev`. */
  devDir?: string | null | undefined
  workDir: string
  tmpBytes: number
  /** Command and arguments as seen inside the sandbox. */
  command: string[]
  /**
   * The uid/gid the job has inside, whatever host uid it runs as (every job has its own): jobs see
   * one fixed identity, so their results do not depend on which host uid they were given.
   */
  insideUser?: { uid: number; gid: number } | undefined
  /** fd numbers in the child, when used. */
  seccompFd?: number | undefined
  infoFd?: number | undefined
  blockFd?: number | undefined
  /**
   * More bwrap options, applied after /dev, /tmp and /work are set up and before the root is made
   * read-only: an install step binds its package index under /tmp, GPU device binds need /dev.
   */
  extraArgs?: readonly string[] | undefined
}

/** `/bin`, `/lib`… are symlinks into /usr on merged-/usr systems and real directories elsewhere. */
export function systemDirArgs(): string[] {
  const args: string[] = ['--ro-bind', '/usr', '/usr']
  for (const dir of ['bin', 'sbin', 'lib', 'lib64', 'lib32', 'libx32']) {
    let stat
    try {
      stat = lstatSync(`/${dir}`)
    } catch {
      continue
    }
    if (stat.isSymbolicLink()) args.push('--symlink', `usr/${dir}`, `/${dir}`)
    else if (stat.isDirectory()) args.push('--ro-bind', `/${dir}`, `/${dir}`)
  }
  return args
}

let cachedSystemDirArgs: string[] | undefined

function devArgs({ devDir, extraArgs, tmpBytes }: BwrapArgsParameters): string[] {
  // Device binds (GPUs) need mount points inside /dev, which the prepared one cannot take.
  if (!devDir || extraArgs?.some((arg) => arg.startsWith('/dev/'))) return ['--dev', '/dev']
  return ['--dev-bind', devDir, '/dev', '--size', String(tmpBytes), '--tmpfs', '/dev/shm']
}

export function bwrapArgs(parameters: BwrapArgsParameters): string[] {
  cachedSystemDirArgs ??= systemDirArgs()
  const identity = parameters.insideUser ? ['--uid', String(parameters.insideUser.uid), '--gid', String(parameters.insideUser.gid)] : []
  const args = [
    '--unshare-user',
    ...identity,
    '--unshare-pid',
    '--unshare-net',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--die-with-parent',
    '--new-session',
    '--cap-drop',
    'ALL',
    '--hostname',
    'sandrun',
    ...cachedSystemDirArgs,
    '--ro-bind',
    parameters.etcDir,
    '/etc',
    '--proc',
    '/proc',
    // The sandbox's pid 1 is bwrap's reaper, of the job's own user and dumpable (bwrap marks it so):
    // its /proc entry would let the job write its memory (/proc/1/mem) or read its fds. Hidden
    // under an empty read-only tmpfs; the job's own processes keep their entries.
    '--tmpfs',
    '/proc/1',
    '--remount-ro',
    '/proc/1',
    ...devArgs(parameters),
    '--size',
    String(parameters.tmpBytes),
    '--tmpfs',
    '/tmp',
    '--bind',
    parameters.workDir,
    '/work',
  ]
  if (parameters.extraArgs) args.push(...parameters.extraArgs)
  args.push('--remount-ro', '/', '--chdir', '/work')
  if (parameters.seccompFd !== undefined) args.push('--seccomp', String(parameters.seccompFd))
  if (parameters.infoFd !== undefined) args.push('--info-fd', String(parameters.infoFd))
  if (parameters.blockFd !== undefined) args.push('--block-fd', String(parameters.blockFd))
  args.push('--', ...parameters.command)
  return args
}
