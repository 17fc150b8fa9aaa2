// Host identities for jobs: each job (and each pre-started sandbox) runs as a host uid of its own,
// so the kernel's per-user limits (epoll watches, RLIMIT_NPROC, pipe buffers, mqueue bytes) are
// per job and one job cannot use up another's. The uids come from a reserved range; a service claims
// one block of it with an abstract unix socket, which the kernel frees when the service exits, so
// two services on one host never hand out the same uid. A uid goes back to the pool only once its
// job's processes are gone and its workspace emptied; the least recently freed is used first.
import { readFileSync } from 'node:fs'
import net from 'node:net'
import { SandboxError } from './errors.ts'

export type JobUser = { uid: number; gid: number }

export type JobUsers = {
  /** A uid no running job has; throws SANDBOX_FAILED when the whole block is in use. */
  take(): JobUser
  /** The job is gone (no process, no file of it left): its uid may serve another job. */
  give(user: JobUser): void
  /** The claimed block: [first, first + count). */
  readonly first: number
  readonly count: number
  close(): Promise<void>
}

export type ClaimJobUsersParameters = {
  /** First uid (and gid) of the reserved range. */
  first?: number | undefined
  /** uids per service (one block). */
  blockSize?: number | undefined
  /** Blocks in the range: services one host can run at once. */
  blocks?: number | undefined
}

export const defaultJobUidRange = {
  // Above the ranges tools hand out (useradd's system and regular users, /etc/subuid blocks from
  // 100000, systemd-nspawn's 0x80000-0x6FFFFFFF) and below 2^31 (Node and some tools take int32 ids).
  first: 2_000_000_000,
  // Far more than the jobs one host can run at once, cleanups in flight included.
  blockSize: 1024,
  blocks: 64,
} as const

/** Users and groups of /etc/passwd, /etc/group, /etc/subuid and /etc/subgid that fall in the range. */
export function uidRangeConflicts(first: number, count: number): string[] {
  const conflicts: string[] = []
  const inRange = (start: number, length: number) => start < first + count && first < start + length
  for (const [file, idField] of [['/etc/passwd', 2], ['/etc/group', 2]] as const) {
    for (const line of readLines(file)) {
      const fields = line.split(':')
      const id = Number(fields[idField])
      if (Number.isInteger(id) && inRange(id, 1)) conflicts.push(`${fields[0]} (${id}) in ${file}`)
    }
  }
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    for (const line of readLines(file)) {
      const [name, start, length] = line.split(':')
      if (inRange(Number(start), Number(length))) conflicts.push(`${name}'s subordinate ids ${start}+${length} in ${file}`)
    }
  }
  return conflicts
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line && !line.startsWith('#'))
  } catch {
    return []
  }
}

/** Listens on an abstract socket named after the block: held while this process lives. */
function lockBlock(first: number): Promise<net.Server | null> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', (error: NodeJS.ErrnoException) => (error.code === 'EADDRINUSE' ? resolve(null) : reject(error)))
    server.listen({ path: `\0sandrun-job-uids-${first}` }, () => {
      server.unref()
      resolve(server)
    })
  })
}

export async function claimJobUsers(parameters: ClaimJobUsersParameters = {}): Promise<JobUsers> {
  const { first: rangeFirst = defaultJobUidRange.first, blockSize = defaultJobUidRange.blockSize, blocks = defaultJobUidRange.blocks } = parameters
  if (!Number.isSafeInteger(rangeFirst) || rangeFirst < 1 || rangeFirst + blockSize * blocks > 2 ** 31 - 1) {
    throw new SandboxError('HOST_UNSUPPORTED', `The job uid range must lie within 1..${2 ** 31 - 2}.`)
  }
  const conflicts = uidRangeConflicts(rangeFirst, blockSize * blocks)
  if (conflicts.length > 0) {
    throw new SandboxError('HOST_UNSUPPORTED', `The reserved job uid range ${rangeFirst}-${rangeFirst + blockSize * blocks - 1} is in use on this host.`, {
      details: `Conflicts: ${conflicts.slice(0, 3).join('; ')}. Choose another range (jobUids.first) that no user or subordinate id range uses.`,
    })
  }
  for (let block = 0; block < blocks; block++) {
    const first = rangeFirst + block * blockSize
    const lock = await lockBlock(first)
    if (!lock) continue
    // Least recently freed first: whatever the kernel still tears down for a uid has had the most time.
    const free = Array.from({ length: blockSize }, (_, i) => first + i)
    const taken = new Set<number>()
    return {
      first,
      count: blockSize,
      take() {
        const uid = free.shift()
        if (uid === undefined) throw new SandboxError('SANDBOX_FAILED', `All ${blockSize} job uids of this service are in use.`)
        taken.add(uid)
        return { uid, gid: uid }
      },
      give({ uid }) {
        if (taken.delete(uid)) free.push(uid)
      },
      close: () => new Promise((resolve) => lock.close(() => resolve())),
    }
  }
  throw new SandboxError('HOST_UNSUPPORTED', `All ${blocks} blocks of job uids are claimed by other Sandrun services on this host.`, {
    details: 'Stop a service, or give this one another range (jobUids.first).',
  })
}
