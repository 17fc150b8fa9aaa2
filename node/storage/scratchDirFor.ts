// Where a worker keeps a job's output files between the sandbox and their sealing (or sending):
// a directory on /dev/shm, tmpfs on Linux, named after something stable of the node (its data dir
// or key file), so a restart after a crash finds and empties what the dead process left in RAM.
import { createHash } from 'node:crypto'
import path from 'node:path'

export function scratchDirFor(identity: string): string {
  const id = createHash('sha256').update(path.resolve(identity)).digest('hex').slice(0, 16)
  return `/dev/shm/sandrun-scratch-${id}`
}
