// Finds a host binary among fixed candidate paths (never through PATH, which the service does not
// trust): the first that exists and is executable wins.
import { accessSync, constants } from 'node:fs'

/** The first executable candidate, or null when there is none. */
export function findExecutable(candidates: readonly string[]): string | null {
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK)
      return candidate
    } catch {
      // next
    }
  }
  return null
}
