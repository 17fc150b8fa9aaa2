// The spawner: a small, long-lived child process that starts job processes for the service.
// Node's spawn() forks the calling process, and the cost of fork grows with its memory (a 400 MB
// gateway pays ~10 ms per job); this process stays small, so each start costs well under 1 ms and
// runs on another core. It only starts processes, relays their output and kills on request.
// It is compiled as one file, without its imports (createSpawner.ts): import types only.
import { type ChildProcess, spawn } from 'node:child_process'
import { closeSync, openSync, writeFileSync } from 'node:fs'
import type { Writable } from 'node:stream'
import type { SpawnerEvent, SpawnerRequest, SpawnRequest } from './spawnerMessages.ts'

const children = new Map<number, ChildProcess>()

function send(event: SpawnerEvent): void {
  process.send?.(event)
}

function start(request: SpawnRequest): void {
  const { id } = request
  const stdio: Array<'ignore' | 'pipe' | number> = ['ignore', 'pipe', 'pipe']
  const opened: number[] = []
  const dataPipes: Array<{ index: number; data: Uint8Array }> = []
  let child: ChildProcess
  try {
    if (request.cgroupDir) throw new Error('starting a process in a cgroup needs the native launcher')
    for (const fd of request.extraFds) {
      if (fd.kind === 'deferred') throw new Error('deferred pipes need the native spawner')
      if (fd.kind === 'file') {
        const handle = openSync(fd.path, 'r')
        opened.push(handle)
        stdio.push(handle)
      } else {
        dataPipes.push({ index: stdio.push('pipe') - 1, data: fd.data })
      }
    }
    const joined: string[] = []
    try {
      // Writing "0" to `tasks` moves only this thread and skips the kernel's global threadgroup
      // lock (and its RCU grace period); fork() then creates the child inside the job cgroup.
      for (const { job, home } of request.joinFiles ?? []) {
        writeFileSync(job, '0')
        joined.push(home)
      }
      child = spawn(request.file, request.args, {
        stdio,
        env: request.env,
        ...(request.uid !== undefined ? { uid: request.uid } : {}),
        ...(request.gid !== undefined ? { gid: request.gid } : {}),
      })
    } finally {
      for (const home of joined) writeFileSync(home, '0')
    }
  } catch (error) {
    send({ type: 'error', id, message: error instanceof Error ? error.message : String(error) })
    return
  } finally {
    for (const handle of opened) closeSync(handle)
  }
  children.set(id, child)
  child.once('error', (error) => {
    children.delete(id)
    send({ type: 'error', id, message: error.message })
  })
  if (child.pid !== undefined) send({ type: 'spawned', id, pid: child.pid })
  for (const { index, data } of dataPipes) {
    const stream = child.stdio[index] as Writable
    // The reader may close its end after reading what it needs; a reset is expected then.
    stream.on('error', () => {})
    stream.end(data)
  }
  child.stdout!.on('data', (data: Buffer) => send({ type: 'stdout', id, data }))
  child.stderr!.on('data', (data: Buffer) => send({ type: 'stderr', id, data }))
  child.once('close', (code, signal) => {
    children.delete(id)
    send({ type: 'exit', id, code, signal })
  })
}

process.on('message', (request: SpawnerRequest) => {
  if (request.type === 'spawn') start(request)
  else if (request.type === 'kill') children.get(request.id)?.kill('SIGKILL')
})

send({ type: 'ready', id: 0 })

// The service is gone: take every job with us (bwrap's --die-with-parent does the rest).
process.on('disconnect', () => {
  for (const child of children.values()) child.kill('SIGKILL')
  process.exit(0)
})
