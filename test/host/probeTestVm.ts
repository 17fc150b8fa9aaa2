// Is this the throwaway test VM (scripts/vm/testVm.sh)? Tests that install system services or
// users run only there: on any other host they would change its configuration.
import { readFileSync } from 'node:fs'
import type { HostSupport } from './requireHost.ts'

export function probeTestVm(): HostSupport {
  let hostname = ''
  try {
    hostname = readFileSync('/etc/hostname', 'utf8').trim()
  } catch {
    // no hostname file: not the VM
  }
  if (process.env.SANDRUN_VM === '1' && hostname === 'sandrun-vm') return { supported: true }
  return { supported: false, reason: 'installs systemd units: runs only in the throwaway test VM (npm run test:vm)' }
}
