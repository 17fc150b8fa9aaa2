// The key per-client limits count under: an IPv4 address as it is, an IPv6 address by its /64
// prefix (one subscriber usually holds a whole /64, so counting single addresses would give one
// client 2^64 quotas), an IPv4-mapped IPv6 address as its IPv4 address.
import { isIPv6 } from 'node:net'

function expandIPv6(address: string): string[] {
  const [head = '', tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = tail === undefined ? 0 : 8 - left.length - right.length
  return [...left, ...Array<string>(missing).fill('0'), ...right]
}

export function clientAddressKey(address: string): string {
  const bare = address.split('%')[0]!
  if (!isIPv6(bare)) return bare
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)
  if (mapped) return mapped[1]!
  const groups = expandIPv6(bare.toLowerCase())
  return `${groups
    .slice(0, 4)
    .map((group) => group.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`
}
