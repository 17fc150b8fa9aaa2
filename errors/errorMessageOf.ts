// The message of any thrown value: an Error's message, or the value as text (a library may throw a
// string), so callers that log or relay a failure need no cast.

/** `error.message` for an Error, else `String(error)`. */
export function errorMessageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
