// RFC 8785 (JCS) canonical JSON, the byte form the spec hash and environment digest are taken over:
// keys sorted by UTF-16 code units, ECMAScript number formatting, minimal string escapes.
import canonicalizeModule from 'canonicalize'
import { VerifierError } from './errors.ts'

// The package is CommonJS with an `export default` typing, which NodeNext reads as a namespace;
// at run time the default import is the function itself.
const canonicalize = canonicalizeModule as unknown as (input: unknown) => string | undefined

/** The RFC 8785 serialization of a JSON value; throws CANONICAL_JSON_INVALID for what JSON cannot hold. */
export function canonicalJson(value: unknown): string {
  let text: string | undefined
  try {
    text = canonicalize(value)
  } catch (error) {
    throw new VerifierError('CANONICAL_JSON_INVALID', 'The value cannot be written as canonical JSON; use only strings, finite numbers, booleans, null, arrays and plain objects.', {
      details: error instanceof Error ? error.message : String(error),
      cause: error,
    })
  }
  if (text === undefined) {
    throw new VerifierError('CANONICAL_JSON_INVALID', 'The value cannot be written as canonical JSON: it is undefined, a function or a symbol.')
  }
  return text
}
