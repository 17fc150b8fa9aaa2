// `sandrun download` keeps the result entries next to the outputs, so `sandrun verify --dir` can
// still prove the folder after the gateway deleted the job (it does once every output is
// downloaded) — and still refuses a tampered file.
import { execFile } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { jobSubmission, startTestGateway } from '../gateway/testGateway.ts'
import { sandrunBin as bin } from '../runSandrunCli.ts'

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let url: string

function sandrun(args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000 }, (error, stdout) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout })
    })
  })
}

beforeAll(async () => {
  gateway = await startTestGateway()
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  const address = gateway.app.server.address() as { port: number }
  url = `http://127.0.0.1:${address.port}`
})
afterAll(async () => {
  await gateway?.close()
})

async function finishedJob(): Promise<string> {
  const { body, contentType } = await jobSubmission({ 'main.py': 'open("answer.txt","w").write("42\\n")\nprint("done")\n' }, { entrypoint: 'main.py' })
  const jobId = (await gateway.app.inject({ method: 'POST', url: '/submit', payload: body, headers: { 'content-type': contentType } })).json().job_id as string
  expect((await gateway.app.inject({ url: `/status/${jobId}?wait=30` })).json().status).toBe('completed')
  return jobId
}

describe('download, then verify the folder', () => {
  it('verifies after the gateway deleted the job, by the saved receipt', async () => {
    const jobId = await finishedJob()
    const out = mkdtempSync(path.join(os.tmpdir(), 'sandrun-receipt-'))
    expect((await sandrun(['download', jobId, '--gateway', url, '--out', out])).code).toBe(0)
    expect((await gateway.app.inject({ url: `/status/${jobId}` })).statusCode).toBe(404)

    const verified = await sandrun(['verify', jobId, '--gateway', url, '--dir', out])
    expect(verified.stdout).toMatch(/^VERIFIED \(worker-signature\)/m)
    expect(verified.code).toBe(0)
  })

  it('still refuses a tampered file', async () => {
    const jobId = await finishedJob()
    const out = mkdtempSync(path.join(os.tmpdir(), 'sandrun-receipt-'))
    expect((await sandrun(['download', jobId, '--gateway', url, '--out', out])).code).toBe(0)
    writeFileSync(path.join(out, 'answer.txt'), '43\n')

    const refused = await sandrun(['verify', jobId, '--gateway', url, '--dir', out])
    expect(refused.stdout).toMatch(/NOT VERIFIED/)
    expect(refused.stdout).toMatch(/answer\.txt is tampered/)
    expect(refused.code).toBe(1)
  })
})
