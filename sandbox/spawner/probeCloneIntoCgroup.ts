// Can the native launcher start processes inside a cgroup v2 job cgroup (clone3 with
// CLONE_INTO_CGROUP: Linux 5.7+, and the right to write both cgroups)? Tried once at start-up with
// `true` in a throwaway job cgroup, so no job meets the failure; without it jobs are moved into
// their cgroup by the service after bwrap starts (the --block-fd handshake), which costs more.
import type { CgroupBackend } from '../cgroups/types.ts'
import { SandboxError } from '../errors.ts'
import type { Spawner } from './spawnerClient.ts'
import { errorMessageOf } from '../../errors/index.ts'

/** Null when it works, else why not. */
export async function probeCloneIntoCgroup(spawner: Spawner, cgroups: CgroupBackend): Promise<string | null> {
  const cgroup = cgroups.create('probe-clone-into', { memoryBytes: 64 * 1024 * 1024, pids: 4, cpuCores: 1 })
  try {
    if (!cgroup.cloneIntoDir) return 'not a cgroup v2 hierarchy'
    const started = spawner.spawn({ file: '/usr/bin/true', args: [], env: {}, extraFds: [], cgroupDir: cgroup.cloneIntoDir, onStdout: () => {}, onStderr: () => {} })
    const exit = await started.exited
    return exit.code === 0 ? null : `the probe exited with ${exit.code ?? exit.signal}`
  } catch (error) {
    return error instanceof SandboxError ? (error.details ?? error.message) : errorMessageOf(error)
  } finally {
    await cgroup.destroy()
  }
}
