// Runs a short host tool (mount, umount) for the service through its process launcher when one is
// running. Node's spawn() forks the service, and a fork's cost grows with the service's memory: on
// the reference VM a spawn() holds the event loop ~6 ms at 130 MiB and 40-60 ms at 800 MiB, the
// size the service reaches under a connection flood. Every job mounts or unmounts a workspace.
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { findExecutable } from '../findExecutable.ts'
import type { Spawner } from './spawnerClient.ts'

const execFileAsync = promisify(execFile)

/** What a failed tool said about why, at most this much of it. */
const maxStderrBytes = 4096

const toolEnv = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C' }

/** The tool's absolute path (the launcher execs without a PATH search), or its name when not found. */
function toolPath(name: string): string {
  return findExecutable([`/usr/bin/${name}`, `/bin/${name}`, `/usr/sbin/${name}`, `/sbin/${name}`]) ?? name
}

/**
 * Runs `name args` to its end; rejects with the tool's own message when it fails. `spawner`: the
 * sandbox's launcher, or undefined (then, or when it is gone, dies before starting the tool, or the
 * tool is missing, the service starts the tool itself).
 */
export async function runTool(spawner: Spawner | undefined, name: string, args: string[]): Promise<void> {
  const file = toolPath(name)
  if (!spawner?.alive || !path.isAbsolute(file)) {
    await execFileAsync(file, args, { env: toolEnv })
    return
  }
  let stderr = ''
  const started = spawner.spawn({
    file,
    args,
    env: toolEnv,
    extraFds: [],
    onStdout: () => {},
    onStderr: (chunk) => {
      if (stderr.length < maxStderrBytes) stderr += chunk.toString('utf8', 0, maxStderrBytes - stderr.length)
    },
  })
  // A launcher that died before it started the tool (killed, or it crashed while the request was on
  // its way) never ran it: the service starts the tool itself, as with no launcher.
  const launched = await started.pid.then(
    () => true,
    () => false,
  )
  if (!launched) {
    started.exited.catch(() => {})
    await execFileAsync(file, args, { env: toolEnv })
    return
  }
  const { code, signal } = await started.exited
  if (code !== 0) throw new Error(`${name} ${code === null ? `killed by ${signal}` : `exited with ${code}`}: ${stderr.trim()}`)
}
