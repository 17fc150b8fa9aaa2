// Small synchronous helpers for cgroup control files. Sync on purpose: the writes are tiny, go to
// a kernel pseudo-filesystem, and must complete before the job is released.
import { readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { setTimeout as delay } from 'node:timers/promises'
import { errorCodeOf } from '../../errors/index.ts'

export function readNumber(file: string): number {
  try {
    return Number(readFileSync(file, 'utf8').trim()) || 0
  } catch {
    return 0
  }
}

/** Reads `key value` lines (memory.events, cpu.stat, memory.oom_control) into a map. */
export function readKeyValues(file: string): Map<string, number> {
  const out = new Map<string, number>()
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return out
  }
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/)
    if (key && value !== undefined) out.set(key, Number(value))
  }
  return out
}

export function writeControl(file: string, value: string | number): void {
  writeFileSync(file, String(value))
}

export function tryWriteControl(file: string, value: string | number): boolean {
  try {
    writeControl(file, value)
    return true
  } catch {
    return false
  }
}

export function listPids(procsFile: string): number[] {
  try {
    return readFileSync(procsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number)
  } catch {
    return []
  }
}

/**
 * Kills every pid listed until the cgroup is empty (a fork racing the kill is caught by the next
 * round). `spare` pids are never killed: the spawner's main thread passes through a job's cgroup
 * for a moment while it forks the job's first process, and v1 lists it then.
 */
export async function killAllIn(procsFile: string, spare?: ReadonlySet<number>, stopped?: () => boolean, rounds = 50): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    // The cgroup went to another job meanwhile: its processes are not ours to kill.
    if (stopped?.()) return
    const pids = listPids(procsFile).filter((pid) => !spare?.has(pid))
    if (pids.length === 0) return
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    await delay(round < 5 ? 1 : 10)
  }
}

/** rmdir with a few retries: the kernel releases a cgroup shortly after its last task is reaped. */
export async function removeCgroupDir(dir: string): Promise<void> {
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      rmdirSync(dir)
      return
    } catch (error) {
      const code = errorCodeOf(error)
      if (code === 'ENOENT') return
      if (code !== 'EBUSY') throw error
      await delay(attempt < 5 ? 2 : 20)
    }
  }
}
