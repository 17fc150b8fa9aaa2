// Where a job runs. Warm path: a pre-started sandbox from the pool, with its own workspace, cgroup
// and host uid, for a job of the default shape. Cold path: a fresh workspace and host uid; the
// job's cgroup and bwrap come later. Either way the job gets one place, released when it ends.
import type { JobCgroup } from './cgroups/types.ts'
import type { JobUser } from './claimJobUsers.ts'
import type { SandboxLimits } from './sandbox.ts'
import type { SandboxRuntime } from './sandboxRuntime.ts'
import type { Manifest } from './types.ts'
import type { WarmSandbox } from './warmPool.ts'
import type { Workspace } from './workspacePool.ts'

export type JobPlace = {
  /** The pre-started sandbox while it is still unused; undefined on the cold path or once used or discarded. */
  warm: WarmSandbox | undefined
  /** A host uid of the job's own; it goes back to the pool with the workspace, once nothing of the job is left. */
  user: JobUser | undefined
  workspace: Workspace
  /** The warm sandbox's cgroup, else none until the job creates its own. */
  cgroup: JobCgroup | undefined
}

export async function claimJobPlace(runtime: SandboxRuntime, manifest: Manifest, limits: SandboxLimits): Promise<JobPlace> {
  // A pre-started sandbox fits a job with nothing to install, no devices and the default sizes.
  const defaultShape =
    manifest.requirements === null &&
    manifest.gpu === null &&
    limits.workBytes === runtime.limits.workBytes &&
    limits.tmpBytes === runtime.limits.tmpBytes &&
    limits.pids === runtime.limits.pids
  const warm = defaultShape ? runtime.warmPool?.take() : undefined
  if (warm) return { warm, user: warm.user, workspace: warm.workspace, cgroup: warm.cgroup }
  const user = runtime.jobUsers?.take()
  try {
    return { warm: undefined, user, workspace: await runtime.workspaces.acquire(limits.workBytes, user), cgroup: undefined }
  } catch (error) {
    if (user) runtime.jobUsers?.give(user)
    throw error
  }
}
