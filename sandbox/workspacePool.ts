// Job directories (/work inside the sandbox). As root each one is its own size-capped tmpfs, so a
// disk-filling job hits ENOSPC at its cap and its pages count against its memory cgroup. Mounting
// costs a `mount` process, so emptied workspaces are kept and reused instead of unmounted.
// Removal never throws: a workspace that cannot be removed now (no file descriptor left to start
// `umount`, a mount still busy) is retried later, so a job's end never takes the service down.
import { execFile } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * `dir` is what the job gets as /work: a directory made fresh for each job inside `mount` (its
 * tmpfs, owned by root). A job owns its /work and could leave extended attributes or a default
 * ACL on it; a new directory per job carries nothing over.
 */
export type Workspace = { dir: string; mount: string; bytes: number }

export type WorkspacePool = {
  /** Mounts `count` idle workspaces of this size ahead of time (off the jobs' critical path). */
  prepare(count: number, bytes: number): Promise<void>
  acquire(bytes: number): Promise<Workspace>
  /** Empties a workspace for reuse or removes it; never rejects (failed removals are retried). */
  release(workspace: Workspace): Promise<void>
  close(): Promise<void>
  /** Workspaces whose removal failed and waits for another try. */
  pendingRemovals(): number
}

export type CreateWorkspacePoolParameters = {
  /** Directory owning the workspaces (created; must be traversable by the sandbox uid). */
  root: string
  uid: number
  gid: number
  /** Mount a tmpfs per workspace (needs root). Without it, workspaces are plain directories without a size cap. */
  tmpfs: boolean
  /** Idle workspaces kept for reuse. */
  keepIdle: number
  /** Detaches a workspace mount; the default runs `umount -l`. */
  unmount?: ((mount: string) => Promise<void>) | undefined
  /** First wait before a failed removal is tried again; it doubles up to a minute. */
  retryDelayMs?: number | undefined
}

const maxRetryDelayMs = 60_000


function mountPointsUnder(root: string): string[] {
  const prefix = root.endsWith('/') ? root : `${root}/`
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(prefix))
}


export async function createWorkspacePool(parameters: CreateWorkspacePoolParameters): Promise<WorkspacePool> {
  const { root, uid, gid, tmpfs, keepIdle, retryDelayMs = 1000 } = parameters
  const unmount = parameters.unmount ?? (async (mount: string) => void (await run('umount', ['-l', mount])))
  mkdirSync(root, { recursive: true, mode: 0o711 })
  chmodSync(root, 0o711)
  // Mounts left behind by a crashed instance with the same root.
  if (tmpfs) for (const stale of mountPointsUnder(root)) await run('umount', ['-l', stale]).catch(() => {})

  const idle = new Map<number, Workspace[]>()
  const mounted = new Set<string>()
  let counter = 0

  /** The job's directory inside a workspace mount, new and empty, owned by the job's user. */
  function jobDirIn(mount: string): string {
    const dir = path.join(mount, 'work')
    mkdirSync(dir, { mode: 0o755 })
    chownSync(dir, uid, gid)
    return dir
  }

  async function create(bytes: number): Promise<Workspace> {
    const mount = path.join(root, `ws-${++counter}`)
    mkdirSync(mount, { mode: 0o755 })
    if (tmpfs) {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755,nosuid,nodev`, 'sandrun-work', mount])
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
      rmSync(workspace.mount, { recursive: true, force: true })
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
    async acquire(bytes) {
      const reusable = idle.get(bytes)?.pop()
      return reusable ?? create(bytes)
    },
    async release(workspace) {
      const list = idle.get(workspace.bytes) ?? []
      if (list.length >= keepIdle) return destroy(workspace)
      let fresh: Workspace
      try {
        rmSync(workspace.dir, { recursive: true, force: true })
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
