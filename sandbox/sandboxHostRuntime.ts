// What createSandbox sets up once for every job on this host: admission facts, the bwrap launcher,
// job users, cgroups, workspaces, interpreters, limits and poll intervals. The warm pool builds
// its sandboxes from it; SandboxRuntime adds the pool itself.
import type { JobAdmissionHost } from './admitJob.ts'
import type { CgroupBackend } from './cgroups/types.ts'
import type { JobUsers } from './claimJobUsers.ts'
import type { LaunchBwrapRuntime } from './launchBwrap.ts'
import type { InterpreterInfo, SandboxLimits } from './sandbox.ts'
import type { InterpreterName } from './types.ts'
import type { WorkspacePool } from './workspacePool.ts'

export type SandboxHostRuntime = JobAdmissionHost &
  LaunchBwrapRuntime & {
    /** The host uids jobs run as, one per job (the service is root); absent: jobs run as the service's user. */
    jobUsers?: JobUsers | undefined
    cgroups: CgroupBackend | null
    workspaces: WorkspacePool
    interpreters: ReadonlyMap<InterpreterName, InterpreterInfo>
    limits: SandboxLimits
    /** How often the CPU-seconds budget is checked. */
    cpuPollMs: number
    /** How often a running job's usage is reported (RunJobParameters.onUsage). */
    usagePollMs: number
    /** Cleanups of finished jobs still running (cgroup removal, workspace emptying); close() awaits them. */
    pendingCleanups: Set<Promise<void>>
  }
