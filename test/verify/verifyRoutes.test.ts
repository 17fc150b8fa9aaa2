// GET/POST /verify/:id through a real local gateway (real sandbox): local mode checks the worker
// signature and says so; the same gateway presented as a market backend checks the chain (anvil).
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Hex } from 'viem'
import type { JobBackend, JobVerification } from '../../node/backends/jobBackend.ts'
import { buildGateway } from '../../node/gateway/buildGateway.ts'
import { resolveGatewayOptions } from '../../node/gateway/config.ts'
import { jobSubmission, multipartBody, startTestGateway } from '../gateway/testGateway.ts'
import { startChainFixture, type ChainFixture } from './chainFixture.ts'
import { type ChainJobId, parseSpecHash, chainJobId } from '../../verifier/index.ts'

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let chain: ChainFixture
let jobId: string
let resultRoot: Hex

const program = 'import os\nprint("done")\nos.makedirs("docs")\nopen("result.csv","w").write("x,y\\n1,2\\n")\nopen("docs/notes.txt","w").write("notes")\n'

beforeAll(async () => {
  ;[gateway, chain] = await Promise.all([startTestGateway(), startChainFixture()])
  const { body, contentType } = await jobSubmission({ 'main.py': program }, { entrypoint: 'main.py' })
  jobId = (await gateway.app.inject({ method: 'POST', url: '/submit', payload: body, headers: { 'content-type': contentType } })).json().job_id
  const status = (await gateway.app.inject({ url: `/status/${jobId}?wait=30` })).json()
  expect(status.status).toBe('completed')
  resultRoot = status.job_hash
})
afterAll(async () => {
  await Promise.all([gateway?.close(), chain?.stop()])
})

function upload(app: typeof gateway.app, id: string, path: string, content: string) {
  const { body, contentType } = multipartBody([
    { name: 'file', value: Buffer.from(content), filename: 'upload' },
    { name: 'path', value: path },
  ])
  return app.inject({ method: 'POST', url: `/verify/${id}`, payload: body, headers: { 'content-type': contentType } })
}

describe('local mode', () => {
  it('GET /verify/:id checks the worker signature and says that is all it proves', async () => {
    const response = await gateway.app.inject({ url: `/verify/${jobId}` })
    expect(response.statusCode).toBe(200)
    const body = response.json()
    expect(body).toMatchObject({ method: 'worker-signature', verified: true, result_root: resultRoot, chain: null, worker: { worker_id: gateway.workerKey.workerId, signature_valid: true } })
    expect(body.caveat).toMatch(/not that the result is right/)
    expect(body.entries.map((e: { name: string }) => e.name)).toEqual(['exit', 'outputs/docs/notes.txt', 'outputs/result.csv', 'stderr', 'stdout'])
  })

  it('POST /verify/:id accepts the real file and rejects a tampered one or one under the wrong path', async () => {
    expect((await upload(gateway.app, jobId, 'result.csv', 'x,y\n1,2\n')).json()).toMatchObject({ verified: true, code: 'VERIFIED', root: resultRoot, method: 'worker-signature' })
    expect((await upload(gateway.app, jobId, 'result.csv', 'x,y\n1,3\n')).json()).toMatchObject({ verified: false, code: 'CONTENT_MISMATCH' })
    expect((await upload(gateway.app, jobId, 'notes.txt', 'notes')).json()).toMatchObject({ verified: false, code: 'WRONG_PATH', expected_path: 'docs/notes.txt' })
  })

  it('answers unknown jobs, missing parts and non-multipart bodies with {error, details}', async () => {
    expect((await gateway.app.inject({ url: '/verify/nope' })).statusCode).toBe(404)
    const { body, contentType } = multipartBody([{ name: 'path', value: 'result.csv' }])
    const missing = await gateway.app.inject({ method: 'POST', url: `/verify/${jobId}`, payload: body, headers: { 'content-type': contentType } })
    expect(missing.statusCode).toBe(400)
    expect(missing.json().details).toMatch(/file=@/)
    const plain = await gateway.app.inject({ method: 'POST', url: `/verify/${jobId}`, payload: { path: 'x' } })
    expect(plain.statusCode).toBe(415)
  })
})

describe('market mode (the local result presented as an on-chain job)', () => {
  // What a market backend would say; the route must only use the chain ids from it, not its claims.
  const verificationOf = (chainId: number, onChainJob: ChainJobId): JobVerification => ({
    state: 'finalized',
    resultVerified: true,
    resultRoot: resultRoot,
    replicas: 3,
    quorum: 2,
    committed: 3,
    revealed: 3,
    agreeing: [],
    dissenting: [],
    slashed: [],
    chainId,
    market: chain.deployment.market,
    chainJobId: onChainJob,
    specHash: parseSpecHash(`0x${'00'.repeat(32)}`),
    txHashes: { post: null, commits: [], reveals: [], finalize: null },
  })

  async function marketGateway(onChainJob: ChainJobId, rpcUrl: string | undefined = chain.anvil.rpcUrl) {
    const local = gateway.backend
    const backend: JobBackend = { ...local, mode: 'market', status: (id) => ({ ...local.status(id), verification: verificationOf(chain.deployment.chainId, onChainJob) }) }
    return buildGateway({ backend, options: resolveGatewayOptions({ port: 0, rpcUrl }) })
  }

  it('verifies a result whose root won on chain, with the chain\'s report', async () => {
    const settled = await chain.settleJob({ roots: [resultRoot, resultRoot, `0x${'66'.repeat(32)}`] })
    const app = await marketGateway(settled.jobId)
    const body = (await app.inject({ url: `/verify/${jobId}` })).json()
    expect(body).toMatchObject({ method: 'chain', verified: true, chain: { status: 'Finalized', consensus_root: resultRoot, job_id: settled.jobId.toString() } })
    expect(body.chain.slots.map((s: { outcome: string }) => s.outcome)).toEqual(['Won', 'Won', 'Dissented'])
    expect(body.chain.steps.finalized.tx_hash).toBe(settled.finalized)
    expect((await upload(app, jobId, 'result.csv', 'x,y\n1,2\n')).json()).toMatchObject({ verified: true, method: 'chain', root: resultRoot })
    expect((await upload(app, jobId, 'result.csv', 'forged')).json()).toMatchObject({ verified: false })
    await app.close()
  })

  it('does not verify a result the chain disagrees with, nor an inconclusive job', async () => {
    const other = await chain.settleJob({ roots: [`0x${'77'.repeat(32)}`, `0x${'77'.repeat(32)}`, resultRoot] })
    const app = await marketGateway(other.jobId)
    const body = (await app.inject({ url: `/verify/${jobId}` })).json()
    expect(body).toMatchObject({ method: 'chain', verified: false })
    expect(body.reason).toMatch(/NOT the consensus root/)
    expect((await upload(app, jobId, 'result.csv', 'x,y\n1,2\n')).json()).toMatchObject({ verified: false, code: 'ENTRIES_MISMATCH' })
    await app.close()

    const inconclusive = await chain.settleJob({ roots: [resultRoot, `0x${'77'.repeat(32)}`, null] })
    const app2 = await marketGateway(inconclusive.jobId)
    expect((await app2.inject({ url: `/verify/${jobId}` })).json()).toMatchObject({ verified: false, chain: { status: 'Inconclusive', verdict: { code: 'JOB_INCONCLUSIVE' } } })
    expect((await upload(app2, jobId, 'result.csv', 'x,y\n1,2\n')).json()).toMatchObject({ verified: false, code: 'NO_TRUSTED_ROOT' })
    await app2.close()
  })

  it('answers 503 without an RPC URL and 502 when the RPC serves another chain', async () => {
    const noRpc = await marketGateway(chainJobId(1n), '')
    const response = await noRpc.inject({ url: `/verify/${jobId}` })
    expect(response.statusCode).toBe(503)
    expect(response.json().details).toMatch(/sandrun verify/)
    await noRpc.close()
    const local = gateway.backend
    const wrongChain: JobBackend = { ...local, mode: 'market', status: (id) => ({ ...local.status(id), verification: verificationOf(1, chainJobId(1n)) }) }
    const app = await buildGateway({ backend: wrongChain, options: resolveGatewayOptions({ port: 0, rpcUrl: chain.anvil.rpcUrl }) })
    const bad = await app.inject({ url: `/verify/${jobId}` })
    expect(bad.statusCode).toBe(502)
    expect(bad.json().error).toMatch(/chain 31337 but the deployment is on chain 1/)
    await app.close()
  })
})
