// The hostile clients of the soak benchmark (hostileSoak.ts), each a loop from addresses of its own
// that does what issue 13's red team did: jobs that flood the service with output or hold the CPU,
// leave huge trees or sparse files, bundles that explode, readers and uploads that never finish.
// Every answer is tallied; the point is that all of them are refused or contained.
import { gzipSync } from 'node:zlib'
import * as tar from 'tar-stream'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { multipart, request, stalledRequest, Tally } from './soakClient.ts'
import { errorMessageOf } from '../../errors/index.ts'

export type Actor = { name: string; tally: Tally; stop(): Promise<void> }

type Loop = (tally: Tally, running: () => boolean) => Promise<void>

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function actor(name: string, loop: Loop): Actor {
  const tally = new Tally()
  let running = true
  const done = loop(tally, () => running).catch((error: unknown) => {
    process.stderr.write(`soak: actor ${name} stopped: ${errorMessageOf(error)}\n`)
  })
  return {
    name,
    tally,
    async stop() {
      running = false
      await done
    },
  }
}

/** Submits a job; the job id, or null with the wait the service asked for. */
async function submitJob(base: URL, localAddress: string, files: Record<string, string>, manifest: Record<string, unknown>, tally: Tally): Promise<string | null> {
  const { body, contentType } = multipart([
    { name: 'files', value: await packFiles(files), filename: 'job.tar.gz' },
    { name: 'manifest', value: JSON.stringify({ entrypoint: Object.keys(files)[0], ...manifest }) },
  ])
  const answer = await request(base, { method: 'POST', path: '/submit', body, headers: { 'content-type': contentType }, localAddress })
  tally.add(answer.status)
  if (answer.status === 200) return (JSON.parse(answer.body.toString()) as { job_id: string }).job_id
  const retry = Number((JSON.parse(answer.body.toString() || '{}') as { retry_after?: number }).retry_after ?? 2)
  await pause(Math.min(30, retry) * 1000)
  return null
}

/** A job run over and over from one address, each waited for; as many at once as `parallel`. */
function jobLoop(name: string, base: URL, localAddress: string, files: Record<string, string>, manifest: Record<string, unknown>, parallel = 1): Actor {
  return actor(name, async (tally, running) => {
    await Promise.all(
      Array.from({ length: parallel }, async () => {
        while (running()) {
          const id = await submitJob(base, localAddress, files, manifest, tally)
          if (id) await request(base, { path: `/status/${id}?wait=30`, localAddress })
        }
      }),
    )
  })
}

/** A gzip tar with `count` files `depth` directories deep: a small upload, a huge tree. */
async function deepBundle(count: number, depth: number): Promise<Buffer> {
  const pack = tar.pack()
  for (let i = 0; i < count; i++) pack.entry({ name: `${`d${i}/`.repeat(depth)}f` }, 'x')
  pack.finalize()
  const chunks: Buffer[] = []
  for await (const chunk of pack) chunks.push(chunk as Buffer)
  return gzipSync(Buffer.concat(chunks))
}

/** Uploads the service must refuse: bombs without a manifest, deep trees, broken multipart. */
function badUploads(base: URL, addresses: string[]): Actor {
  return actor('bad uploads (gzip bomb without manifest, 10,000 x 64-deep tree, no boundary)', async (tally, running) => {
    const bomb = multipart([{ name: 'files', value: gzipSync(Buffer.alloc(256 * 1024 * 1024)), filename: 'job.tar.gz' }])
    const deep = multipart([
      { name: 'files', value: await deepBundle(10_000, 64), filename: 'job.tar.gz' },
      { name: 'manifest', value: '{"entrypoint":"d0/f"}' },
    ])
    for (let round = 0; running(); round++) {
      const localAddress = addresses[round % addresses.length]!
      for (const upload of [bomb, deep, { body: bomb.body, contentType: 'multipart/form-data' }]) {
        const answer = await request(base, { method: 'POST', path: '/submit', body: upload.body, headers: { 'content-type': upload.contentType }, localAddress })
        tally.add(answer.status)
      }
      await pause(1000)
    }
  })
}

/** From each address, as many never-read log reads as it may hold, and one more every few seconds. */
function nonReaders(base: URL, addresses: string[], jobId: string): Actor {
  return actor(`never-read log reads (${addresses.length} addresses x 8)`, async (tally, running) => {
    const held = new Map(addresses.map((address) => [address, [] as Array<{ destroy(): void; destroyed: boolean }>]))
    while (running()) {
      for (const [localAddress, sockets] of held) {
        const open = sockets.filter((s) => !s.destroyed)
        held.set(localAddress, open)
        while (open.length < 8) {
          const socket = await stalledRequest(base, localAddress, `GET /logs/${jobId}?format=${open.length % 2 ? 'json' : 'text'} HTTP/1.1\r\nHost: x\r\n\r\n`)
          if (!socket) break
          open.push(socket)
        }
        // A ninth read from an address that holds eight.
        tally.add((await request(base, { path: `/logs/${jobId}?format=json`, localAddress, timeoutMs: 2000 })).status)
      }
      await pause(5000)
    }
    for (const sockets of held.values()) for (const socket of sockets) socket.destroy()
  })
}

/** From each address, /verify uploads that never end, and one more every few seconds. */
function endlessUploads(base: URL, addresses: string[], jobId: string): Actor {
  return actor(`endless /verify uploads (${addresses.length} addresses x 2)`, async (tally, running) => {
    const head = `POST /verify/${jobId} HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 99000000\r\n\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n${'y'.repeat(32 * 1024)}`
    const held: Array<{ destroy(): void }> = []
    while (running()) {
      for (const localAddress of addresses) {
        for (let i = 0; i < 2; i++) {
          const socket = await stalledRequest(base, localAddress, head)
          if (socket) held.push(socket)
        }
        const { body, contentType } = multipart([{ name: 'path', value: 'x' }])
        tally.add((await request(base, { method: 'POST', path: `/verify/${jobId}`, body, headers: { 'content-type': contentType }, localAddress, timeoutMs: 5000 })).status)
      }
      // The service cuts an upload off at its request timeout (120 s); then they come back.
      await pause(30_000)
    }
    for (const socket of held) socket.destroy()
  })
}

export type StartHostileActorsParameters = {
  base: URL
  /** A finished job with 2 x 10 MiB of control bytes in its logs. */
  bigLogJob: string
  /** A finished job with an output file. */
  outputJob: string
}

export function startHostileActors({ base, bigLogJob, outputJob }: StartHostileActorsParameters): Actor[] {
  const hostile = (n: number) => `127.0.9.${n}`
  const range = (from: number, count: number, prefix = '127.0.10') => Array.from({ length: count }, (_, i) => `${prefix}.${from + i}`)
  return [
    jobLoop('cat /dev/zero to stdout (30 s jobs)', base, hostile(1), { 'main.sh': 'cat /dev/zero' }, { timeout: 30 }),
    jobLoop('CPU hogs, 2 at once from one address', base, hostile(2), { 'spin.py': 'while True:\n    pass\n' }, { timeout: 90, cpu_seconds: 60 }, 2),
    jobLoop('hard links until /work is out of inodes', base, hostile(3), { 'main.py': "import os\nopen('a','w').close()\ntry:\n    for i in range(2_000_000): os.link('a', 'l%d' % i)\nexcept OSError:\n    pass\n" }, { timeout: 60 }),
    jobLoop('99 MiB sparse outputs', base, hostile(4), { 'main.sh': 'truncate -s 99M big.bin' }, {}),
    jobLoop('fork bomb', base, hostile(5), { 'main.sh': ':(){ :|:& };:; sleep 10' }, { timeout: 15 }),
    jobLoop('a byte at a time to stdout and stderr', base, hostile(6), { 'main.py': "import sys, time\nend = time.time() + 20\nwhile time.time() < end:\n    sys.stdout.write('x'); sys.stdout.flush(); sys.stderr.write('y'); sys.stderr.flush()\n" }, { timeout: 30 }),
    jobLoop('inotify on /usr and /etc', base, hostile(7), { 'main.py': "import ctypes\nlibc = ctypes.CDLL(None)\nprint(libc.inotify_init1(0))\n" }, {}),
    badUploads(base, range(1, 10)),
    nonReaders(base, range(1, 20, '127.0.11'), bigLogJob),
    endlessUploads(base, range(1, 10, '127.0.12'), outputJob),
  ]
}
