// Vitest global setup: the CLI the tests start (nodes, `sandrun verify`, `sandrun mcp`...) is the
// build in dist/, as `npm start` runs it: through tsx every such process spent ~2 s of CPU more
// loading TypeScript, a large share of the suite on a 2-core machine. Rebuilt only when the
// sources changed (scripts/build.ts --if-stale; ~1 s when they did). bin/sandrun, the sources
// through tsx, is still run by test/gateway/cli.test.ts.
import { execFileSync } from 'node:child_process'
import path from 'node:path'

export default function buildDist(): void {
  const root = path.resolve(import.meta.dirname, '..')
  execFileSync(process.execPath, ['--import', 'tsx', path.join(root, 'scripts/build.ts'), '--no-types', '--if-stale'], { cwd: root, stdio: 'inherit' })
}
