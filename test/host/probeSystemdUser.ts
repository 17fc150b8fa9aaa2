// Is systemd the init here, with a running user manager for the unprivileged user `sandrun`
// (`loginctl enable-linger sandrun`)? The delegation tests start jobs as that user in a scope
// systemd delegates to it. The test VM (`npm run test:vm`) has both.
import { existsSync, readFileSync } from 'node:fs'
import type { HostSupport } from './requireHost.ts'

export type SystemdUser = { name: string; uid: number; gid: number; runtimeDir: string }

export function probeSystemdUser(name = 'sandrun'): HostSupport & { user?: SystemdUser } {
  if (!existsSync('/run/systemd/system')) return { supported: false, reason: 'systemd is not the init system here' }
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find(([user]) => user === name)
  if (!entry) return { supported: false, reason: `no user "${name}" (useradd ${name}; loginctl enable-linger ${name})` }
  const user = { name, uid: Number(entry[2]), gid: Number(entry[3]), runtimeDir: `/run/user/${entry[2]}` }
  if (!existsSync(`${user.runtimeDir}/systemd/private`)) return { supported: false, reason: `no systemd user manager for "${name}" (loginctl enable-linger ${name})` }
  return { supported: true, user }
}
