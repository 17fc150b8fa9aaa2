// Test fixture: the native launcher built into a temporary directory and started, for the
// launcher's own tests and those of what runs through it.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { buildNativeTools, createNativeSpawner } from '../../sandbox/spawner/createNativeSpawner.ts'
import type { Spawner } from '../../sandbox/spawner/spawnerClient.ts'

export type TestSpawner = {
  spawner: Spawner
  /** The temporary directory (the launcher's build lives there; tests may put files there too). */
  dir: string
  /** Starts another launcher from the same build. */
  another(): Promise<Spawner>
  close(): Promise<void>
}

export async function startTestSpawner(): Promise<TestSpawner> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sandrun-spawn-test-'))
  const built = await buildNativeTools(dir)
  if (built.tools === null) throw new Error(`the native tools did not build: ${built.reason}`)
  const binary = built.tools.spawn
  const spawner = await createNativeSpawner(binary)
  return {
    spawner,
    dir,
    another: () => createNativeSpawner(binary),
    async close() {
      await spawner.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
