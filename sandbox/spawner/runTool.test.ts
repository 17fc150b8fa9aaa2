// Host tools the service runs (mount, umount) start from the process launcher, not by forking the
// service; they still report their own failures, and work without a launcher.
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runTool } from './runTool.ts'
import type { Spawner } from './spawnerClient.ts'
import { startTestSpawner, type TestSpawner } from '../../test/sandbox/startTestSpawner.ts'

let launcher: TestSpawner
let spawner: Spawner

beforeAll(async () => {
  launcher = await startTestSpawner()
  spawner = launcher.spawner
})
afterAll(async () => {
  await launcher?.close()
})

/** Runs `sh` through runTool and returns the pid of the process that started it. */
async function parentOfTool(through: Spawner | undefined): Promise<number> {
  const file = path.join(launcher.dir, `parent-${Math.random()}`)
  await runTool(through, 'sh', ['-c', 'echo $PPID > "$1"', 'sh', file])
  return Number(readFileSync(file, 'utf8'))
}

describe('runTool', () => {
  it('starts the tool from the launcher, so the service never forks itself', async () => {
    expect(await parentOfTool(spawner)).toBe([...spawner.pids][0])
  })

  it("fails with the tool's exit status and its own words", async () => {
    await expect(runTool(spawner, 'sh', ['-c', 'echo "no such mount point" >&2; exit 32'])).rejects.toThrow('sh exited with 32: no such mount point')
  })

  it('starts the tool itself when there is no launcher, or it is gone', async () => {
    expect(await parentOfTool(undefined)).toBe(process.pid)
    const gone = await launcher.another()
    await gone.close()
    expect(await parentOfTool(gone)).toBe(process.pid)
  })

  it('starts the tool itself when the launcher dies before starting it (killed, not yet noticed)', async () => {
    const dying = await launcher.another()
    process.kill([...dying.pids][0]!, 'SIGKILL')
    // Asked at once: the launcher still counts as alive, the request goes to a dead process.
    expect(dying.alive).toBe(true)
    expect(await parentOfTool(dying)).toBe(process.pid)
    await dying.close()
  })
})
