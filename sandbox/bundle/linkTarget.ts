// Decides where a symlink from the archive points, following the archive's own symlinks the way
// the kernel would. A purely lexical check is not enough: with `s -> .`, the target `s/../etc`
// looks like `etc` but really leaves the root.
import { maxSymlinkHops } from './bundleLimits.ts'

export type LinkTargetParameters = {
  /** Normalized path of the link itself. */
  linkPath: string
  /** Target as stored in the archive. */
  target: string
  /** Every symlink of the archive known so far: normalized path -> raw target. */
  links: ReadonlyMap<string, string>
}

export type LinkTargetReturnType = 'inside' | 'outside' | 'loop'

export function linkTarget({ linkPath, target, links }: LinkTargetParameters): LinkTargetReturnType {
  if (target.startsWith('/')) return 'outside'
  const resolved = linkPath.split('/').slice(0, -1)
  let pending = target.split('/')
  let hops = 0
  while (pending.length > 0) {
    const component = pending.shift()
    if (component === undefined || component === '' || component === '.') continue
    if (component === '..') {
      if (resolved.length === 0) return 'outside'
      resolved.pop()
      continue
    }
    resolved.push(component)
    const next = links.get(resolved.join('/'))
    if (next === undefined) continue
    hops += 1
    if (hops > maxSymlinkHops) return 'loop'
    if (next.startsWith('/')) return 'outside'
    resolved.pop()
    pending = [...next.split('/'), ...pending]
  }
  return 'inside'
}
