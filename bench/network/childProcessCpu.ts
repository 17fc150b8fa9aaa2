// CPU seconds of this process's children, read from /proc: utime+stime plus what each has reaped
// (a worker's sandbox runs), with each child's command line so a bench can name it.
import { readdir, readFile } from 'node:fs/promises'

export type ChildCpu = { pid: number; args: string[]; seconds: number }

export async function childProcessCpu(): Promise<ChildCpu[]> {
  const tick = 100 // USER_HZ on Linux
  const children: ChildCpu[] = []
  for (const pid of (await readdir('/proc')).filter((name) => /^\d+$/.test(name))) {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null)
    if (!stat) continue
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    if (Number(fields[1]) !== process.pid) continue
    const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0')
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]))
    children.push({ pid: Number(pid), args, seconds: (utime! + stime! + cutime! + cstime!) / tick })
  }
  return children
}
