// Job directories (/work inside the sandbox). As root each one is its own size-capped tmpfs, so a
// disk-filling job hits ENOSPC at its cap and its pages count against its memory cgroup. Mounting
// costs a `mount` process, so emptied workspaces are kept and reused instead of unmounted.
// Removal never throws: a workspace that cannot be removed now (no file descriptor left to start
// `umount`, a mount still busy) is retried later, so a job's end never takes the service down.
import { chmodSync, chownSync, mkdirSync, readFileSync, statfsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { runTool } from './spawner/runTool.ts'

/**
 * `dir` is what the job gets as /work: a directory made fresh for each job inside `mount` (its
 * tmpfs, owned by root). A job owns its /work and could leave extended attributes or a default
 * ACL on it; a new directory per job carries nothing over.
 */
export type Workspace = { dir: string; mount: string; bytes: number }

export type WorkspacePool = {
  /** Mounts `count` idle workspaces of this size ahead of time (off the jobs' critical path). */
  prepare(count: number, bytes: number): Promise<void>
  /** A workspace whose job directory belongs to `owner` (the job's host user; default: unchanged). */
  acquire(bytes: number, owner?: { uid: number; gid: number } | undefined): Promise<Workspace>
  /** Empties a workspace for reuse or removes it; never rejects (failed removals are retried). */
  release(workspace: Workspace): Promise<void>
  close(): Promise<void>
  /** Workspaces whose removal failed and waits for another try. */
  pendingRemovals(): number
}

export type CreateWorkspacePoolParameters = {
  /** Directory owning the workspaces (created; must be traversable by the jobs' uids). */
  root: string
  /** Mount a tmpfs per workspace (needs root). Without it, workspaces are plain directories without a size cap. */
  tmpfs: boolean
  /** Files, directories and links a job may create in its tmpfs (nr_inodes; hard links count too). */
  inodes?: number | undefined
  /** Idle workspaces kept for reuse. */
  keepIdle: number
  /** Runs `mount`/`umount` with these arguments; the default starts them from this process. */
  runTool?: ((name: string, args: string[]) => Promise<void>) | undefined
  /** Detaches a workspace mount; the default runs `umount -l`. */
  unmount?: ((mount: string) => Promise<void>) | undefined
  /** First wait before a failed removal is tried again; it doubles up to a minute. */
  retryDelayMs?: number | undefined
}

const maxRetryDelayMs = 60_000

/**
 * Enough for the scientific Python stack or a node_modules tree installed into /work next to a
 * 10,000-entry bundle; a job that wants millions of (empty) files or hard links meets ENOSPC here,
 * and output collection never has more than this to walk.
 */
export const defaultWorkspaceInodes = 65_536

/** Entries a released workspace may hold and still be emptied for reuse rather than unmounted. */
const maxInodesToEmpty = 1024

/** Inodes in use on a workspace's tmpfs (its root, the job dir and whatever the job left). */
function inodesUsed(mount: string): number {
  try {
    const { files, ffree } = statfsSync(mount)
    return files - ffree
  } catch {
    return Number.POSITIVE_INFINITY
  }
}

function mountPointsUnder(root: string): string[] {
  const prefix = root.endsWith('/') ? root : `${root}/`
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(prefix))
}


export async function createWorkspacePool(parameters: CreateWorkspacePoolParameters): Promise<WorkspacePool> {
  const { root, tmpfs, keepIdle, inodes = defaultWorkspaceInodes, retryDelayMs = 1000 } = parameters
  const run = parameters.runTool ?? ((name: string, args: string[]) => runTool(undefined, name, args))
  const unmount = parameters.unmount ?? ((mount: string) => run('umount', ['-l', mount]))
  mkdirSync(root, { recursive: true, mode: 0o711 })
  chmodSync(root, 0o711)
  // Mounts left behind by a crashed instance with the same root.
  if (tmpfs) for (const stale of mountPointsUnder(root)) await run('umount', ['-l', stale]).catch(() => {})

  const idle = new Map<number, Workspace[]>()
  const mounted = new Set<string>()
  let counter = 0

  /** The job's directory inside a workspace mount, new and empty (given to its job's user on acquire). */
  function jobDirIn(mount: string): string {
    const dir = path.join(mount, 'work')
    mkdirSync(dir, { mode: 0o755 })
    return dir
  }

  async function create(bytes: number): Promise<Workspace> {
    const mount = path.join(root, `ws-${++counter}`)
    mkdirSync(mount, { mode: 0o755 })
    if (tmpfs) {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},nr_inodes=${inodes},mode=0755,nosuid,nodev`, 'sandrun-work', mount])
      mounted.add(mount)
    }
    return { dir: jobDirIn(mount), mount, bytes }
  }

  /** Workspaces whose removal failed, with the timer of their next try. */
  const leftovers = new Map<string, { workspace: Workspace; delayMs: number; timer: NodeJS.Timeout }>()

  /** Unmounts and removes a workspace; false when something failed (the mount stays known). */
  async function tryRemove(workspace: Workspace): Promise<boolean> {
    try {
      if (mounted.has(workspace.mount)) {
        await unmount(workspace.mount)
        mounted.delete(workspace.mount)
      }
      // Off the event loop: without a tmpfs (rootless) the mount is a plain directory of the job's files.
      await rm(workspace.mount, { recursive: true, force: true })
      return true
    } catch {
      return false
    }
  }

  function retryLater(workspace: Workspace, delayMs: number): void {
    const timer = setTimeout(() => {
      leftovers.delete(workspace.mount)
      void tryRemove(workspace).then((removed) => {
        if (!removed) retryLater(workspace, Math.min(delayMs * 2, maxRetryDelayMs))
      })
    }, delayMs)
    timer.unref()
    leftovers.set(workspace.mount, { workspace, delayMs, timer })
  }

  async function destroy(workspace: Workspace): Promise<void> {
    if (!(await tryRemove(workspace))) retryLater(workspace, retryDelayMs)
  }

  return {
    async prepare(count, bytes) {
      const list = idle.get(bytes) ?? []
      idle.set(bytes, list)
      while (list.length < Math.min(count, keepIdle)) list.push(await create(bytes))
    },
    async acquire(bytes, owner) {
      const workspace = idle.get(bytes)?.pop() ?? (await create(bytes))
      if (owner) chownSync(workspace.dir, owner.uid, owner.gid)
      return workspace
    },
    async release(workspace) {
      const list = idle.get(workspace.bytes) ?? []
      // A job can leave tens of thousands of entries; removing them one by one would hold the event
      // loop (or a thread) for seconds, where dropping the whole tmpfs costs one `umount` process.
      if (list.length >= keepIdle || (tmpfs && inodesUsed(workspace.mount) > maxInodesToEmpty)) return destroy(workspace)
      let fresh: Workspace
      try {
        await rm(workspace.dir, { recursive: true, force: true })
        fresh = { ...workspace, dir: jobDirIn(workspace.mount) }
      } catch {
        return destroy(workspace)
      }
      list.push(fresh)
      idle.set(workspace.bytes, list)
    },
    async close() {
      const all = [...idle.values()].flat()
      idle.clear()
      for (const { workspace, timer } of leftovers.values()) {
        clearTimeout(timer)
        all.push(workspace)
      }
      leftovers.clear()
      await Promise.all(all.map(tryRemove))
      for (const mount of [...mounted]) await tryRemove({ dir: mount, mount, bytes: 0 })
    },
    pendingRemovals: () => leftovers.size,
  }
}
