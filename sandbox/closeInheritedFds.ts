// File descriptors this process inherited without close-on-exec (from a shell, a supervisor or a
// test runner) would be inherited again by every process it starts, jobs included: bwrap does not
// close them. Node opens everything of its own close-on-exec, so these are closed at start-up,
// except Node's IPC channel to a parent process.
import { closeSync, readdirSync, readFileSync } from 'node:fs'

const closeOnExec = 0o2000000

/** Returns the fds it closed. */
export function closeInheritedFds(): number[] {
  const keep = new Set([0, 1, 2, Number(process.env.NODE_CHANNEL_FD ?? -1)])
  const closed: number[] = []
  let entries: string[]
  try {
    entries = readdirSync('/proc/self/fd')
  } catch {
    return closed
  }
  for (const entry of entries) {
    const fd = Number(entry)
    if (keep.has(fd)) continue
    try {
      const flags = /^flags:\s+([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1]
      if (flags === undefined || (parseInt(flags, 8) & closeOnExec) !== 0) continue
      closeSync(fd)
      closed.push(fd)
    } catch {
      // gone already (the directory listing's own fd)
    }
  }
  return closed
}
