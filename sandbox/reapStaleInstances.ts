// Cleans up after sandbox instances that died without close() (a crash, SIGKILL): their tmpfs
// workspaces stay mounted and their cgroups stay behind. Each instance records its owner pid and
// cgroup directories in `owner.json`; a new instance removes those whose owner is gone.
import { execFileSync } from 'node:child_process'
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { killAllIn, removeCgroupDir } from './cgroups/cgroupFiles.ts'
import { errorCodeOf } from '../errors/index.ts'

type OwnerRecord = { pid: number; cgroupDirs: string[] }

export function writeOwnerRecord(runtimeDir: string, record: OwnerRecord): void {
  writeFileSync(path.join(runtimeDir, 'owner.json'), JSON.stringify(record))
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return errorCodeOf(error) === 'EPERM'
  }
}

function mountPointsUnder(dir: string): string[] {
  const prefix = `${dir}/`
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mountPoint) => mountPoint.startsWith(prefix))
}

async function removeCgroupTree(dir: string): Promise<void> {
  let children: string[] = []
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name))
  } catch {
    return
  }
  for (const child of children) await removeCgroupTree(child)
  await killAllIn(path.join(dir, 'cgroup.procs'))
  await removeCgroupDir(dir).catch(() => {})
}

/** Returns how many stale instances were removed. */
export async function reapStaleInstances(rootDir: string): Promise<number> {
  let reaped = 0
  let entries: string[] = []
  try {
    entries = readdirSync(rootDir)
  } catch {
    return 0
  }
  for (const name of entries) {
    const dir = path.join(rootDir, name)
    let record: OwnerRecord
    try {
      record = JSON.parse(readFileSync(path.join(dir, 'owner.json'), 'utf8')) as OwnerRecord
    } catch {
      continue
    }
    if (alive(record.pid)) continue
    for (const mountPoint of mountPointsUnder(dir).reverse()) {
      try {
        execFileSync('umount', ['-l', mountPoint], { stdio: 'ignore' })
      } catch {
        // already gone
      }
    }
    for (const cgroupDir of record.cgroupDirs) await removeCgroupTree(cgroupDir)
    rmSync(dir, { recursive: true, force: true })
    reaped++
  }
  return reaped
}
