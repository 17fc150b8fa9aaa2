// How long the service's event loop is held by two pieces of its own work that a job controls:
// walking a /work of 65,000 hard links for its outputs, and capturing 10 MiB on stdout and stderr
// (kept twice by the local mode: the job's log and its result). Each is measured as the longest
// gap between the turns of a 1 ms timer, beside the CPU it took, for this tree and, with
// `--previous DIR`, for another checkout's sources in the same run (each in its own process,
// alternating). Usage:
//   node --import tsx bench/sandbox/eventLoopTurns.ts [--previous /path/to/other/checkout] [--rounds 5]
import { execFileSync } from 'node:child_process'
import { linkSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { previous: { type: 'string' }, rounds: { type: 'string' }, tree: { type: 'string' }, dir: { type: 'string' } } })
const rounds = Number(values.rounds ?? 5)
const here = fileURLToPath(new URL('../..', import.meta.url))

type Figures = { walkGapMs: number; walkCpuMs: number; captureGapMs: number; captureCpuMs: number; idleGapMs: number }

/** The longest gap between turns of a 1 ms timer while `work` runs, and the CPU the process used. */
async function measure(work: () => Promise<unknown>): Promise<{ gapMs: number; cpuMs: number }> {
  let last = performance.now()
  let gapMs = 0
  const ticker = setInterval(() => {
    const now = performance.now()
    gapMs = Math.max(gapMs, now - last)
    last = now
  }, 1)
  const cpu = process.cpuUsage()
  await work()
  const used = process.cpuUsage(cpu)
  clearInterval(ticker)
  return { gapMs, cpuMs: (used.user + used.system) / 1000 }
}

/** One process's rounds for one tree: prints its figures as JSON lines. */
async function child(tree: string, dir: string): Promise<void> {
  const { walkRegularFiles } = (await import(
    pathToFileURL(path.join(tree, 'sandbox/outputs/walkRegularFiles.ts')).href
  )) as typeof import('../../sandbox/outputs/walkRegularFiles.ts')
  const { GrowingBuffer } = (await import(pathToFileURL(path.join(tree, 'sandbox/growingBuffer.ts')).href)) as typeof import('../../sandbox/growingBuffer.ts')
  const limit = 10 * 1024 * 1024
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  for (let round = 0; round < rounds; round++) {
    const idle = await measure(() => new Promise((resolve) => setTimeout(resolve, 200)))
    const walk = await measure(() => walkRegularFiles({ dir }))
    // The pipe brings a job's output a chunk at a time, one read per turn: four buffers (log and
    // result, stdout and stderr) each take every chunk until full.
    const capture = await measure(async () => {
      const kept = Array.from({ length: 4 }, () => new GrowingBuffer(limit))
      while (kept[0]!.length < limit) {
        for (const buffer of kept) buffer.append(chunk)
        await new Promise((resolve) => setImmediate(resolve))
      }
    })
    const figures: Figures = { walkGapMs: walk.gapMs, walkCpuMs: walk.cpuMs, captureGapMs: capture.gapMs, captureCpuMs: capture.cpuMs, idleGapMs: idle.gapMs }
    process.stdout.write(`${JSON.stringify(figures)}\n`)
  }
}

if (values.tree && values.dir) {
  await child(values.tree, values.dir)
} else {
  const dir = mkdtempSync('/dev/shm/sandrun-bench-turns-')
  try {
    const files = path.join(dir, 'work')
    mkdirSync(files)
    writeFileSync(path.join(files, 'f'), 'x')
    for (let i = 1; i < 65_000; i++) {
      linkSync(path.join(files, 'f'), path.join(files, `l${i}`))
      if (i % 16_250 === 0) console.error(`eventLoopTurns: ${i} of 65,000 hard links made`)
    }
    const trees = [{ name: 'this tree', dir: here }, ...(values.previous ? [{ name: `previous (${values.previous})`, dir: values.previous }] : [])]
    const results = new Map<string, Figures[]>(trees.map((t) => [t.name, []]))
    // Alternate the trees, a process each time, so a slow minute of the host hits both.
    for (let pass = 0; pass < 2; pass++) {
      for (const tree of pass === 0 ? trees : [...trees].reverse()) {
        console.error(`eventLoopTurns: pass ${pass + 1} of 2, ${tree.name}: ${rounds} rounds`)
        const out = execFileSync(
          process.execPath,
          ['--import', 'tsx', fileURLToPath(import.meta.url), '--tree', tree.dir, '--dir', files, '--rounds', String(rounds)],
          { cwd: tree.dir, encoding: 'utf8' },
        )
        for (const line of out.trim().split('\n')) results.get(tree.name)!.push(JSON.parse(line) as Figures)
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const max = (xs: number[]) => Math.max(...xs)
    const rows = [...results].map(([name, figures]) => {
      const of = (key: keyof Figures) => figures.map((f) => f[key])
      return {
        name,
        walkGap: median(of('walkGapMs')),
        walkGapMax: max(of('walkGapMs')),
        walkCpu: median(of('walkCpuMs')),
        captureGap: median(of('captureGapMs')),
        captureGapMax: max(of('captureGapMs')),
        captureCpu: median(of('captureCpuMs')),
        idleGap: median(of('idleGapMs')),
      }
    })
    const base = rows.at(-1)!
    const ratio = (a: number, b: number) => (rows.length > 1 ? ` (${(a / b).toFixed(2)}x)` : '')
    console.log(
      `| build | walk of 65,000 hard links: longest turn, median / max | its CPU | 4 x 10 MiB captured: longest turn, median / max | its CPU | idle timer gap |`,
    )
    console.log('| --- | --- | --- | --- | --- | --- |')
    for (const r of rows)
      console.log(
        `| ${r.name} | ${r.walkGap.toFixed(1)}${ratio(r.walkGap, base.walkGap)} / ${r.walkGapMax.toFixed(1)} ms | ${r.walkCpu.toFixed(0)} ms${ratio(r.walkCpu, base.walkCpu)} | ${r.captureGap.toFixed(1)}${ratio(r.captureGap, base.captureGap)} / ${r.captureGapMax.toFixed(1)} ms | ${r.captureCpu.toFixed(0)} ms${ratio(r.captureCpu, base.captureCpu)} | ${r.idleGap.toFixed(1)} ms |`,
      )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
