// Job directories (/work inside the sandbox). As root each one is its own size-capped tmpfs, so a
// disk-filling job hits ENOSPC at its cap and its pages count against its memory cgroup. Mounting
// costs a `mount` process, so emptied workspaces are kept and reused instead of unmounted.
import { execFile } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export type Workspace = { dir: string; bytes: number }

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

function emptyDirectory(dir: string): void {
  for (const entry of readdirSync(dir)) rmSync(path.join(dir, entry), { recursive: true, force: true })
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

  async function create(bytes: number): Promise<Workspace> {
    const dir = path.join(root, `ws-${++counter}`)
    mkdirSync(dir, { mode: 0o755 })
    if (tmpfs) {
      await run('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755,uid=${uid},gid=${gid},nosuid,nodev`, 'sandrun-work', dir])
      mounted.add(dir)
    } else {
      chownSync(dir, uid, gid)
    }
    return { dir, bytes }
  }

  async function destroy(workspace: Workspace): Promise<void> {
    if (mounted.delete(workspace.dir)) await run('umount', ['-l', workspace.dir]).catch(() => {})
    rmSync(workspace.dir, { recursive: true, force: true })
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
      try {
        emptyDirectory(workspace.dir)
        // The job may have changed the mode of its /work; reset it for the next one.
        chmodSync(workspace.dir, 0o755)
        chownSync(workspace.dir, uid, gid)
      } catch {
        return destroy(workspace)
      }
      const list = idle.get(workspace.bytes) ?? []
      if (list.length >= keepIdle) return destroy(workspace)
      list.push(workspace)
      idle.set(workspace.bytes, list)
    },
    async close() {
      const all = [...idle.values()].flat()
      idle.clear()
      await Promise.all(all.map(destroy))
      for (const dir of [...mounted]) await destroy({ dir, bytes: 0 })
    },
  }
}
