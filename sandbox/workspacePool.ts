// Job directories (/work inside the sandbox). As root each one is its own size-capped tmpfs, so a
// disk-filling job hits ENOSPC at its cap and its pages count against its memory cgroup. Mounting
// costs a `mount` process, so emptied workspaces are kept and reused instead of unmounted.
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
  release(workspace: Workspace): Promise<void>
  close(): Promise<void>
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
}

function mountPointsUnder(root: string): string[] {
  const prefix = root.endsWith('/') ? root : `${root}/`
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(prefix))
}


export async function createWorkspacePool(parameters: CreateWorkspacePoolParameters): Promise<WorkspacePool> {
  const { root, uid, gid, tmpfs, keepIdle } = parameters
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

  async function destroy(workspace: Workspace): Promise<void> {
    if (mounted.delete(workspace.mount)) await run('umount', ['-l', workspace.mount]).catch(() => {})
    rmSync(workspace.mount, { recursive: true, force: true })
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
      await Promise.all(all.map(destroy))
      for (const mount of [...mounted]) await destroy({ dir: mount, mount, bytes: 0 })
    },
  }
}
