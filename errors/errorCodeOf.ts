// The `code` of any thrown value, for logs and for Node's system errors (ENOENT, EEXIST): a Sandrun
// error's typed code, a Node errno code, or a library's code, without a cast at each call site.

/** The string `code` of an Error (SandrunError, NodeJS.ErrnoException, FastifyError), or undefined. */
export function errorCodeOf(error: unknown): string | undefined {
  return error instanceof Error && 'code' in error && typeof error.code === 'string' ? error.code : undefined
}
