// Whether a listen address is reachable from this machine only (127.0.0.0/8, ::1, localhost): such
// a gateway serves one person, so `sandrun dev` relaxes the per-IP limits meant for strangers.
import { isIPv4 } from 'node:net'

export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase()
  if (bare === 'localhost' || bare === '::1') return true
  return isIPv4(bare) && bare.startsWith('127.')
}
