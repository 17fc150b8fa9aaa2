// Where to cut a UTF-8 byte string into pieces that decode, one by one, to exactly what the whole
// decodes to: never inside a multi-byte sequence.

/** The cut at or just before `at` (by at most three bytes) that splits no UTF-8 sequence. */
export function utf8Boundary(bytes: Uint8Array, at: number): number {
  if (at >= bytes.length) return bytes.length
  // A lead byte among the last three bytes whose sequence would cross the cut moves the cut before it.
  for (let back = 1; back <= 3 && at - back >= 0; back++) {
    const byte = bytes[at - back]!
    if ((byte & 0xc0) === 0x80) continue
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1
    return at - back + length > at ? at - back : at
  }
  return at
}
