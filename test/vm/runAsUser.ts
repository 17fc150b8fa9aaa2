// Runs a command as an unprivileged user with that user's systemd manager reachable (what a login
// session gives), optionally in a transient scope systemd delegates to the user (Delegate=yes).
import { execFile } from 'node:child_process'
import type { SystemdUser } from '../host/probeSystemdUser.ts'

export type RunAsUserParameters = {
  user: SystemdUser
  command: string[]
  /** Start it in `systemd-run --user --scope -p Delegate=yes`. */
  delegated: boolean
  cwd: string
}

export function runAsUser({ user, command, delegated, cwd }: RunAsUserParameters): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = [`HOME=/home/${user.name}`, 'PATH=/usr/local/bin:/usr/bin:/bin', `XDG_RUNTIME_DIR=${user.runtimeDir}`, `DBUS_SESSION_BUS_ADDRESS=unix:path=${user.runtimeDir}/bus`]
  const scope = delegated ? ['systemd-run', '--user', '--scope', '--quiet', '-p', 'Delegate=yes', '--'] : []
  return new Promise((resolve) => {
    execFile('/usr/sbin/runuser', ['-u', user.name, '--', '/usr/bin/env', '-i', ...env, ...scope, ...command], { cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr })
    })
  })
}
