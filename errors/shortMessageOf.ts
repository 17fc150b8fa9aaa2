// The one-line message of any thrown value, for a CLI line or a job's error field: Sandrun's and
// viem's errors both keep it apart from their details; anything else gives its whole message.

/** `shortMessage` when the error has one (SandrunError, viem's BaseError), else its message or text. */
export function shortMessageOf(error: unknown): string {
  if (error instanceof Error) return 'shortMessage' in error && typeof error.shortMessage === 'string' ? error.shortMessage : error.message
  return String(error)
}
