// The incident of issue 13: thousands of WebSocket viewers of one running job used up the service's
// file descriptors, the job's cleanup then failed and the service exited. Here a real `sandrun
// serve` process runs with a small descriptor limit (512, so its connection cap is 256) and meets
// more viewers than that: it answers the surplus with a clear 503 (or 429 for one address's
// surplus), keeps its job, and serves normally once the flood is gone.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createSandrunClient, type SandrunClient } from '../../node/client/sandrunClient.ts'
import { packFiles } from '../../sandbox/bundle/packFiles.ts'
import { startServeProcess, type ServeProcess } from './startServeProcess.ts'

let serve: ServeProcess
let url: string
let client: SandrunClient

beforeAll(async () => {
  serve = await startServeProcess({ args: ['--concurrent-jobs', '10'], nofile: 512 })
  url = serve.url
  client = createSandrunClient({ baseUrl: url })
}, 60_000)

afterAll(async () => {
  await serve.close()
})

type Viewer = { socket: WebSocket; outcome: Promise<{ opened: true } | { opened: false; status: number; body: string }> }

function openViewer(jobId: string, localAddress: string): Viewer {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/logs/${jobId}/stream`, { localAddress })
  const outcome = new Promise<Awaited<Viewer['outcome']>>((resolve, reject) => {
    socket.once('open', () => resolve({ opened: true }))
    socket.once('unexpected-response', (_request, response) => {
      let body = ''
      response.on('data', (chunk: Buffer) => (body += chunk))
      response.once('end', () => resolve({ opened: false, status: response.statusCode ?? 0, body }))
    })
    socket.once('error', reject)
  })
  return { socket, outcome }
}

async function closeAll(viewers: Viewer[]): Promise<void> {
  await Promise.all(
    viewers.map(({ socket }) => {
      if (socket.readyState === WebSocket.CLOSED) return undefined
      return new Promise((resolve) => {
        socket.once('close', resolve)
        socket.terminate()
      })
    }),
  )
}

describe('a flood of WebSocket viewers', () => {
  it('is capped below the descriptor limit with clear refusals, and the service keeps serving', async () => {
    const { job_id: jobId } = await client.submit({ bundle: await packFiles({ 'main.sh': 'echo started; sleep 120' }), manifest: { entrypoint: 'main.sh', timeout: 180 } })
    for await (const message of client.streamLogs(jobId)) if (message.type === 'output') break // it runs

    // One address: 8 viewers; the rest of its 64 connections are refused viewers (429), and
    // connections beyond 64 are refused before any request is read (429 too).
    const greedy = Array.from({ length: 70 }, () => openViewer(jobId, '127.0.0.100'))
    const greedyOutcomes = await Promise.all(greedy.map((v) => v.outcome))
    expect(greedyOutcomes.filter((o) => o.opened)).toHaveLength(8)
    const refused = greedyOutcomes.filter((o) => !o.opened)
    expect(refused.every((o) => o.status === 429)).toBe(true)
    // Which refusal a connection meets depends on how many refused viewers closed first.
    expect(refused.filter((o) => /Too many log viewers from this address/.test(o.body)).length).toBeGreaterThanOrEqual(56)
    expect(refused.every((o) => /Too many log viewers from this address|Too many connections|Too many new connections/.test(o.body))).toBe(true)
    await closeAll(greedy)

    // Fifty addresses, 8 viewers each: 400 connections against a cap of 256, whose last tenth (25)
    // is kept for addresses holding fewer than 4 connections.
    const flood = Array.from({ length: 400 }, (_, i) => openViewer(jobId, `127.0.1.${1 + (i % 50)}`))
    const outcomes = await Promise.all(flood.map((v) => v.outcome))
    // The cap counts every connection (this test's client may hold a kept-alive one too).
    const opened = outcomes.filter((o) => o.opened).length
    expect(opened).toBeLessThanOrEqual(256 - 25)
    expect(opened).toBeGreaterThanOrEqual(256 - 25 - 6)
    const busy = outcomes.filter((o) => !o.opened)
    expect(busy).toHaveLength(400 - opened)
    expect(busy.every((o) => o.status === 503 && /Service busy/.test(o.body))).toBe(true)
    // A client with nothing open still gets in while the flood holds its connections.
    const healthWhileBusy = await fetch(`${url}/health`)
    expect(healthWhileBusy.status).toBe(200)
    await closeAll(flood)

    // The flood is gone: the job is still there, can be cancelled and cleaned up, and new jobs run.
    expect((await client.status(jobId)).status).toBe('running')
    await client.delete(jobId)
    const health = await fetch(`${url}/health`)
    expect(health.status).toBe(200)
    const { job_id: next } = await client.submit({ bundle: await packFiles({ 'main.sh': 'echo after' }), manifest: { entrypoint: 'main.sh' } })
    expect((await client.wait(next)).status).toBe('completed')
    expect(await client.logs(next)).toMatchObject({ stdout: 'after\n' })
    expect(serve.process.exitCode).toBe(null)
  }, 120_000)
})

describe('the accept queue', () => {
  // Under a reconnecting flood a full queue makes the kernel drop every client's SYN alike, and an
  // honest request then waits seconds for its SYN to be sent again: the service asks for the
  // longest queue the kernel allows (Node's default is 511).
  it('is the longest the kernel allows', () => {
    const kernelMax = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'))
    // For a listening socket, ss shows the backlog it was given in the Send-Q column.
    const line = execFileSync('ss', ['-ltnH', `sport = :${serve.port}`], { encoding: 'utf8' }).trim()
    const backlog = Number(line.split(/\s+/)[2])
    expect(backlog).toBe(Math.min(65_535, kernelMax))
  })
})
