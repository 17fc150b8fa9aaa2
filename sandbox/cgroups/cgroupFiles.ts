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

/** The processes of one job's cgroup already signalled: shared by the sweeps that may overlap on it (a kill and the release). */
export type KillMemory = { killed: Set<number>; halted: Set<number> }
export const killMemory = (): KillMemory => ({ killed: new Set(), halted: new Set() })

/**
 * Kills every pid listed until the cgroup is empty. `spare` pids are never killed: the spawner's
 * main thread passes through a job's cgroup for a moment while it forks the job's first process,
 * and v1 lists it then.
 *
 * Each process gets one SIGKILL: a killed process stays listed until it has exited, which takes
 * CPU time its cgroup may not have left (a fork bomb spends its quota), and signalling it again
 * each round only cost the service's main thread. What the first round leaves that it did not
 * kill (a fork bomb's children) is stopped before it is killed: a stopped process cannot fork and
 * keeps its pid, so the cgroup's pids limit stays full and nothing refills it; once a round finds
 * nothing it has not stopped or killed, the stopped ones are killed. Killing every listed pid
 * round after round instead let a bomb refill the cgroup between rounds: 50 rounds of up to 100
 * kills, over a second of the service's main thread per bomb in the hostile soak.
 */
export type KillAllInOptions = {
  spare?: ReadonlySet<number> | undefined
  /** True once the cgroup went to another job: the sweep stops there. */
  stopped?: (() => boolean) | undefined
  rounds?: number | undefined
  /** Shared with the other sweeps of the same cgroup; a fresh one by default. */
  signalled?: KillMemory | undefined
}

export async function killAllIn(procsFile: string, { spare, stopped, rounds = 50, signalled = killMemory() }: KillAllInOptions = {}): Promise<void> {
  const { killed, halted } = signalled
  const signal = (pids: number[], name: 'SIGSTOP' | 'SIGKILL', into: Set<number>): void => {
    for (const pid of pids) {
      into.add(pid)
      try {
        process.kill(pid, name)
      } catch {
        // already gone
      }
    }
  }
  for (let round = 0; round < rounds; round++) {
    // The cgroup went to another job meanwhile: its processes are not ours to kill.
    if (stopped?.()) return
    const pids = listPids(procsFile).filter((pid) => !spare?.has(pid))
    if (pids.length === 0) return
    const unseen = pids.filter((pid) => !killed.has(pid) && !halted.has(pid))
    if (round === 0) signal(pids.filter((pid) => !killed.has(pid)), 'SIGKILL', killed)
    else if (unseen.length > 0) signal(unseen, 'SIGSTOP', halted)
    else signal(pids.filter((pid) => !killed.has(pid)), 'SIGKILL', killed)
    await delay(round < 5 ? 1 : 10)
  }
  // Out of rounds: nothing stays stopped for want of its SIGKILL.
  if (!stopped?.()) signal(listPids(procsFile).filter((pid) => !spare?.has(pid) && !killed.has(pid)), 'SIGKILL', killed)
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
