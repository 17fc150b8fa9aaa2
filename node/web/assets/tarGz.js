// Builds the job bundle in the browser: a ustar archive of the given files, gzip-compressed with
// the platform's CompressionStream, which is what POST /submit expects in its `files` part.

const encoder = new TextEncoder()

function writeString(block, offset, length, text) {
  const bytes = encoder.encode(text)
  if (bytes.length > length) throw new Error(`"${text}" is too long for a tar header field`)
  block.set(bytes, offset)
}

function writeOctal(block, offset, length, value) {
  writeString(block, offset, length, value.toString(8).padStart(length - 1, '0') + '\0')
}

/** ustar keeps names up to 100 bytes, or 255 split at a slash into prefix and name. */
function splitName(path) {
  if (encoder.encode(path).length <= 100) return ['', path]
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i)
    const name = path.slice(i + 1)
    if (encoder.encode(prefix).length <= 155 && encoder.encode(name).length <= 100) return [prefix, name]
  }
  throw new Error(`The file name "${path.slice(0, 60)}…" is too long (at most 255 bytes).`)
}

function header(path, size) {
  const block = new Uint8Array(512)
  const [prefix, name] = splitName(path)
  writeString(block, 0, 100, name)
  writeOctal(block, 100, 8, 0o644)
  writeOctal(block, 108, 8, 0)
  writeOctal(block, 116, 8, 0)
  writeOctal(block, 124, 12, size)
  writeOctal(block, 136, 12, Math.floor(Date.now() / 1000))
  block.fill(0x20, 148, 156)
  block[156] = 0x30 // '0': regular file
  writeString(block, 257, 6, 'ustar\0')
  writeString(block, 263, 2, '00')
  writeString(block, 345, 155, prefix)
  const sum = block.reduce((total, byte) => total + byte, 0)
  writeString(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ')
  return block
}

/**
 * @param {Array<{ path: string, content: Uint8Array }>} files
 * @returns {Promise<Blob>} the .tar.gz
 */
export async function tarGz(files) {
  const parts = []
  for (const { path, content } of files) {
    parts.push(header(path, content.length), content)
    const pad = (512 - (content.length % 512)) % 512
    if (pad) parts.push(new Uint8Array(pad))
  }
  parts.push(new Uint8Array(1024))
  const gzipped = new Blob(parts).stream().pipeThrough(new CompressionStream('gzip'))
  return new Response(gzipped).blob()
}
