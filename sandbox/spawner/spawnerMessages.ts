// Messages between the service and its spawner process (IPC with advanced serialization, so
// Buffers travel as bytes). Extra fds are listed in order: the n-th becomes fd 3 + n in the child.

import type { JoinFile } from './homeCgroups.ts'
import type { OutputStream } from '../types.ts'

export type ExtraFd =
  /** A file opened read-only by the spawner (one open file description per child). */
  | { kind: 'file'; path: string }
  /** A pipe the spawner fills with these bytes and closes. */
  | { kind: 'data'; data: Uint8Array }
  /** A pipe filled later, once, by a write request (native spawner only; at most one per process). */
  | { kind: 'deferred' }

export type SpawnRequest = {
  type: 'spawn'
  id: number
  file: string
  args: string[]
  env: Record<string, string>
  uid?: number | undefined
  gid?: number | undefined
  extraFds: ExtraFd[]
  /**
   * cgroup v1 `tasks` files of the job, each with the spawner's own in that hierarchy: the
   * spawner's main thread moves itself in (writing "0"), forks the child there, and moves back.
   * The child is born inside the job cgroup.
   */
  joinFiles?: JoinFile[] | undefined
  /**
   * cgroup v2: the job cgroup's directory; the native launcher creates the child in it with
   * clone3(CLONE_INTO_CGROUP). The Node spawner refuses it.
   */
  cgroupDir?: string | undefined
}

export type KillRequest = { type: 'kill'; id: number }

/** Fills the process's deferred pipe and closes it. */
export type WriteRequest = { type: 'write'; id: number; data: Uint8Array }

export type SpawnerRequest = SpawnRequest | KillRequest | WriteRequest

export type SpawnerEvent =
  | { type: 'ready'; id: 0 }
  | { type: 'spawned'; id: number; pid: number }
  | { type: OutputStream; id: number; data: Uint8Array }
  | { type: 'exit'; id: number; code: number | null; signal: NodeJS.Signals | null }
  | { type: 'error'; id: number; message: string }
