// cgroup v1: a spawner forks job processes from inside the job's cgroup and then returns to its
// own. Its own cgroups are this process's (it is our child and never moves), found once here.
import { readFileSync } from 'node:fs'
import path from 'node:path'

let homeDirs: Map<string, string> | undefined

/** This process's cgroup v1 directories, by hierarchy mount point. */
function ownCgroupDirs(): Map<string, string> {
  const dirs = new Map<string, string>()
  try {
    const own = new Map<string, string>()
    for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n').filter(Boolean)) {
      const [, controllers = '', ...rest] = line.split(':')
      for (const controller of controllers.split(',')) own.set(controller, rest.join(':'))
    }
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
      const [, dir = '', type = '', options = ''] = line.split(' ')
      if (type !== 'cgroup') continue
      const controller = options.split(',').find((o) => own.has(o))
      if (controller) dirs.set(dir, path.join(dir, own.get(controller)!))
    }
  } catch {
    // no cgroup v1: there are no join files then
  }
  return dirs
}

export type JoinFile = { job: string; home: string }

/** Each job `tasks` file with the spawner's own `tasks` file in the same hierarchy. */
export function withHomeCgroups(jobTasksFiles: readonly string[]): JoinFile[] {
  homeDirs ??= ownCgroupDirs()
  return jobTasksFiles.map((job) => {
    for (const [mount, dir] of homeDirs!) if (job.startsWith(`${mount}/`)) return { job, home: path.join(dir, 'tasks') }
    throw new Error('no home cgroup to return to')
  })
}
