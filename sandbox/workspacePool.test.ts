// Workspace removal never throws: a removal that fails (here `umount` cannot start, as when the
// service is out of file descriptors) is retried later, and the mount is gone in the end.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { execFileSync } from 'node:child_process'
import { describe, expect, it, vi } from 'vitest'
import { createWorkspacePool } from './workspacePool.ts'

const isRoot = process.getuid?.() === 0
const mounted = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').includes(` ${dir} `)

describe.runIf(isRoot)('workspace pool', () => {
  it('retries a removal that failed, without rejecting, until the workspace is gone', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'sandrun-ws-test-'))
    let failures = 2
    const pool = await createWorkspacePool({
      root,
      tmpfs: true,
      keepIdle: 0,
      retryDelayMs: 20,
      unmount: async (mount) => {
        if (failures-- > 0) throw Object.assign(new Error('spawn umount EMFILE'), { code: 'EMFILE' })
        execFileSync('umount', ['-l', mount])
      },
    })
    const workspace = await pool.acquire(1024 * 1024)
    writeFileSync(path.join(workspace.dir, 'left.txt'), 'x')
    expect(mounted(workspace.mount)).toBe(true)

    await expect(pool.release(workspace)).resolves.toBeUndefined()
    expect(pool.pendingRemovals()).toBe(1)
    await vi.waitFor(() => expect(pool.pendingRemovals()).toBe(0), { timeout: 5000, interval: 20 })
    expect(mounted(workspace.mount)).toBe(false)
    await pool.close()
  })

  it('close() removes workspaces still waiting for another try', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'sandrun-ws-test-'))
    let failing = true
    const pool = await createWorkspacePool({
      root,
      tmpfs: true,
      keepIdle: 0,
      retryDelayMs: 60_000,
      unmount: async (mount) => {
        if (failing) throw new Error('busy')
        execFileSync('umount', ['-l', mount])
      },
    })
    const workspace = await pool.acquire(1024 * 1024)
    await pool.release(workspace)
    expect(pool.pendingRemovals()).toBe(1)
    failing = false
    await pool.close()
    expect(pool.pendingRemovals()).toBe(0)
    expect(mounted(workspace.mount)).toBe(false)
  })
})
