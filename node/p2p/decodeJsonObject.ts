// Decodes bytes from a peer as one JSON object: strict UTF-8, no arrays or scalars at the top.
// A string result is the reason it is not one (used in rejections and protocol errors).
export function decodeJsonObject(data: Uint8Array): Record<string, unknown> | string {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data))
  } catch {
    return 'not UTF-8 JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object'
  return value as Record<string, unknown>
}
