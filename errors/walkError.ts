// Follows an error's `cause` chain (viem's walk, for any thrown value): errors from libraries and
// from Sandrun wrap each other, and callers look for the one that says what happened.

/**
 * `error` or the first of its causes that `match` accepts (null when none does); without `match`,
 * the deepest cause. Stops after 32 links, so a cause cycle cannot hang it.
 */
export function walkError(error: unknown, match?: (error: unknown) => boolean): unknown {
  let current = error
  for (let depth = 0; depth < 32; depth++) {
    if (match?.(current)) return current
    const next = current instanceof Error ? current.cause : undefined
    if (next === undefined) return match ? null : current
    current = next
  }
  return match ? null : current
}
