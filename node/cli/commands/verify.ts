// `sandrun verify <job>`: is this result proven, and are these files part of it? With --rpc and
// --deployment the chain is read directly and the gateway is used, at most, to find the on-chain
// id and the result entries, both of which are checked against the chain, never believed.
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { parseArgs } from 'node:util'
import { createPublicClient, formatEther, isAddress, type Address } from 'viem'
import { jobReportJson, verifyJob, type JobReportJson } from '../../../verifier/chain/index.ts'
import { type ChainJobId, chainJobId, type GatewayJobId, gatewayJobId, hashOutputsFolder, VerifierError, verifyOutputFile, verifyOutputs, verifyWorkerSignature, type ResultEntryInput, type VerifyOutputFileReturnType, type VerifyOutputsReturnType, resultReceiptName } from '../../../verifier/index.ts'
import { readDeployment } from '../../chain/deployment.ts'
import { errorFromResponse, SandrunClientError } from '../../client/clientError.ts'
import { createSandrunClient, defaultGatewayUrl, type JobStatusBody } from '../../client/sandrunClient.ts'
import { chainTransport } from '../../chain/chainTransport.ts'
import { type ErrorCodeTable, SandrunError } from '../../../errors/index.ts'

export const description = 'Verify a result (on chain, or by worker signature) and check files against it'

const usage = `Usage: sandrun verify <job-id> [--rpc <url> (--deployment <file> | --market <address>)] [--gateway URL]
                      [--file <path> [--path <output path>] | --dir <outputs>] [--entries <file>] [--json]

  --rpc, --deployment  read the market chain directly (market jobs). <job-id> is the on-chain id, or
                       a gateway job id resolved through --gateway or the receipt (then checked against the chain)
  --market             instead of --deployment: the market's address (the chain id comes from --rpc)
  --gateway            the gateway (default ${defaultGatewayUrl}); without --rpc only local/pool jobs
                       can be checked, by worker signature
  --file, --path       check one downloaded file, as output <path> (default: its path inside the
                       folder holding the receipt, .sandrun-result.json, else its file name)
  --dir                check a whole downloaded outputs folder (from sandrun download --out)
  --entries            the result entries as JSON ([{name, sha256, size}], e.g. GET /verify/:id's
                       "entries"); default: fetched from the gateway and checked, never trusted
  --worker             (without --rpc) the worker_id you expect to have signed the result
  --json               print the verdict as JSON
Exit status: 0 only when verified.
`

type Verdict = {
  verified: boolean
  method: 'chain' | 'worker-signature'
  reason: string
  caveat: string
  chain: JobReportJson | null
  file: (VerifyOutputFileReturnType & { path: string }) | null
  folder: VerifyOutputsReturnType | null
}

type Options = {
  rpc?: string | undefined
  deployment?: string | undefined
  market?: string | undefined
  gateway?: string | undefined
  file?: string | undefined
  path?: string | undefined
  dir?: string | undefined
  entries?: string | undefined
  worker?: string | undefined
}

const chainCaveat = 'Proves that a quorum of staked workers committed to this result on chain; a colluding majority could still agree on a wrong one. Trusts your RPC node.'
const signatureCaveat = 'Proves only which key signed the result root, not that the result is right; in local and pool modes the operator is trusted.'

const notVerifiedCodes: ErrorCodeTable<'NOT_VERIFIED'> = { NOT_VERIFIED: { statusCode: 400, userFault: true } }

/** The check cannot be made as asked (wrong id, missing flag): the user changes the command. */
class NotVerified extends SandrunError<'NOT_VERIFIED'> {
  override name = 'NotVerified'

  constructor(message: string) {
    super('NOT_VERIFIED', message, notVerifiedCodes)
  }
}

function gateway(url: string | undefined) {
  const client = createSandrunClient({ baseUrl: url ?? defaultGatewayUrl })
  return {
    status: (jobId: GatewayJobId) => client.status(jobId) as Promise<JobStatusBody & { verification?: { chain_id?: number; market?: string; job_id?: string | null } | null }>,
    async entries(jobId: GatewayJobId): Promise<ResultEntryInput[]> {
      let response: Response
      try {
        response = await fetch(new URL(`verify/${encodeURIComponent(jobId)}`, client.baseUrl))
      } catch (cause) {
        throw new SandrunClientError('UNREACHABLE', `Cannot reach the gateway at ${client.baseUrl}; pass --entries instead.`, { cause })
      }
      if (!response.ok) throw await errorFromResponse(response)
      const body = (await response.json()) as { entries?: unknown }
      if (!Array.isArray(body.entries)) throw new NotVerified('the gateway sent no result entries')
      return body.entries as ResultEntryInput[]
    },
  }
}

type Receipt = {
  job_id?: string
  job_hash?: string | null
  worker_metadata?: { worker_id: string; signature: string } | null
  verification?: { chain_id?: number; market?: string; job_id?: string | null } | null
  entries?: ResultEntryInput[]
}

/**
 * The receipt `sandrun download` or `sandrun run` saved with the outputs: in --dir, or in the folder
 * of --file or the nearest folder above it (a nested output sits below the download folder). It only
 * points (entries, ids, the claimed signature); every claim in it is checked against the chain or
 * the signature, so a wrong receipt can only make verification fail.
 */
async function findReceipt(options: Options): Promise<{ receipt: Receipt; folder: string } | undefined> {
  const folders: string[] = []
  if (options.dir) folders.push(options.dir)
  else if (options.file) for (let dir = path.dirname(path.resolve(options.file)); folders.at(-1) !== dir; dir = path.dirname(dir)) folders.push(dir)
  for (const folder of folders) {
    try {
      return { receipt: JSON.parse(await readFile(path.join(folder, resultReceiptName), 'utf8')) as Receipt, folder }
    } catch {
      // none here (or unreadable): look further up
    }
  }
  return undefined
}

async function readReceipt(options: Options): Promise<Receipt | undefined> {
  return (await findReceipt(options))?.receipt
}

async function receiptEntries(options: Options): Promise<ResultEntryInput[] | undefined> {
  const receipt = await readReceipt(options)
  return Array.isArray(receipt?.entries) ? receipt.entries : undefined
}

/** --path, else the file's path inside the receipt's folder, else its name. */
async function outputPathOf(file: string, options: Options): Promise<string> {
  if (options.path) return options.path
  const found = await findReceipt(options)
  return found ? path.relative(found.folder, path.resolve(file)).split(path.sep).join('/') : path.basename(file)
}

/**
 * The saved receipt's copy of the job's ids and signature when the folder has one for this job (it
 * works offline and after the gateway deleted the job; its claims are checked all the same), else
 * the gateway's status.
 */
async function statusOrReceipt(jobId: GatewayJobId, options: Options): Promise<Pick<JobStatusBody, 'job_hash' | 'worker_metadata'> & { verification?: Receipt['verification'] }> {
  const receipt = await readReceipt(options)
  if (receipt?.job_id === jobId) return { job_hash: receipt.job_hash ?? null, worker_metadata: receipt.worker_metadata ?? null, verification: receipt.verification ?? null }
  return gateway(options.gateway).status(jobId)
}

async function entriesFor(jobId: JobArgument, options: Options): Promise<ResultEntryInput[]> {
  if (options.entries) return JSON.parse(await readFile(options.entries, 'utf8')) as ResultEntryInput[]
  const saved = await receiptEntries(options)
  if (saved) return saved
  if (typeof jobId === 'bigint') throw new NotVerified('checking files needs the result entries: pass --entries, or the gateway job id instead of the on-chain id')
  return gateway(options.gateway).entries(jobId)
}

/** Checks --file or --dir (if given) against a trusted root. */
async function checkFiles(jobId: JobArgument, root: string, options: Options): Promise<Pick<Verdict, 'file' | 'folder'>> {
  if (options.file) {
    const outputPath = await outputPathOf(options.file, options)
    const result = verifyOutputFile({ root, name: `outputs/${outputPath}`, content: await readFile(options.file), entries: await entriesFor(jobId, options) })
    return { file: { ...result, path: outputPath }, folder: null }
  }
  if (options.dir) return { file: null, folder: verifyOutputs({ root, entries: await entriesFor(jobId, options), files: await hashOutputsFolder(options.dir) }) }
  return { file: null, folder: null }
}

/** What `<job-id>` names when the chain is read: digits are the on-chain id (`007` too), anything else the gateway's id. */
type JobArgument = ChainJobId | GatewayJobId

const jobArgument = (typed: string): JobArgument => (/^\d+$/.test(typed) ? chainJobId(BigInt(typed)) : gatewayJobId(typed))

type ChainTarget = { chainId: number; market: Address; deployBlock: bigint }

async function onChainId(jobId: JobArgument, options: Options, deployment: ChainTarget): Promise<ChainJobId> {
  if (typeof jobId === 'bigint') return jobId
  const ref = (await statusOrReceipt(jobId, options)).verification
  if (!ref?.job_id) throw new NotVerified(`the gateway reports no on-chain job for ${jobId}; is it a market job? Pass the on-chain id instead`)
  if (ref.chain_id !== deployment.chainId || ref.market?.toLowerCase() !== deployment.market.toLowerCase()) {
    throw new NotVerified(`the gateway says job ${jobId} is on chain ${ref.chain_id} market ${ref.market}, not the deployment's chain ${deployment.chainId} market ${deployment.market}`)
  }
  return chainJobId(ref.job_id)
}

async function verifyOnChain(jobId: JobArgument, options: Options): Promise<Verdict> {
  if (!options.deployment && !isAddress(options.market ?? '')) throw new NotVerified(`--market must be the market contract's address (0x + 40 hex digits), not "${options.market?.slice(0, 60)}"`)
  const client = createPublicClient({ transport: chainTransport(options.rpc ?? '') })
  // With --market the deployment block is unknown: events are searched from the chain's start.
  const deployment: ChainTarget = options.deployment ? readDeployment({ file: options.deployment }) : { chainId: await client.getChainId(), market: options.market as Address, deployBlock: 0n }
  const report = await verifyJob(client, {
    chainId: deployment.chainId,
    market: deployment.market,
    jobId: await onChainId(jobId, options, deployment),
    fromBlock: deployment.deployBlock,
  })
  const base = { method: 'chain' as const, caveat: chainCaveat, chain: jobReportJson(report) }
  if (!report.verdict.verified || !report.consensusRoot) return { ...base, verified: false, reason: `${report.verdict.code}: ${report.verdict.reason}`, file: null, folder: null }
  const checked = await checkFiles(jobId, report.consensusRoot, options)
  return { ...base, ...checked, ...filesVerdict(report.verdict.reason, checked) }
}

async function verifyBySignature(jobId: GatewayJobId, options: Options): Promise<Verdict> {
  const status = await statusOrReceipt(jobId, options)
  const base = { method: 'worker-signature' as const, caveat: signatureCaveat, chain: null, file: null, folder: null }
  if (status.verification) return { ...base, verified: false, reason: `this is a market job: pass --rpc and --market ${status.verification.market ?? '<address>'} (or --deployment) to verify it on chain` }
  const worker = status.worker_metadata
  const root = status.job_hash
  if (!root || !worker) return { ...base, verified: false, reason: 'the job has no signed result (yet)' }
  if (options.worker && options.worker !== worker.worker_id) return { ...base, verified: false, reason: `the result was signed by ${worker.worker_id}, not by the expected worker ${options.worker}` }
  if (!verifyWorkerSignature({ workerId: worker.worker_id, root, signature: worker.signature })) return { ...base, verified: false, reason: 'the worker signature over the result root is not valid' }
  const checked = await checkFiles(jobId, root, options)
  return { ...base, ...checked, ...filesVerdict(`worker ${worker.worker_id} signed result root ${root}`, checked) }
}

function filesVerdict(proven: string, { file, folder }: Pick<Verdict, 'file' | 'folder'>): { verified: boolean; reason: string } {
  if (file) return { verified: file.verified, reason: file.verified ? `${proven}; ${file.reason}` : file.reason }
  if (folder) return { verified: folder.verified, reason: folder.verified ? `${proven}; ${folder.reason}` : folder.reason }
  return { verified: true, reason: proven }
}

function shortAddress(a: string | null): string {
  return a ? `${a.slice(0, 8)}…${a.slice(-4)}` : '(empty)'
}

function render(argument: string, verdict: Verdict): string {
  const lines: string[] = []
  const c = verdict.chain
  if (c) {
    lines.push(`job ${argument}: on-chain job ${c.job_id}, chain ${c.chain_id}, market ${c.market}: ${c.status}`)
    lines.push(`  spec hash       ${c.spec_hash}`, `  consensus root  ${c.consensus_root ?? '(none)'}`, `  quorum          ${c.quorum} of ${c.replicas}`)
    if (c.steps.posted) lines.push(`  posted          tx ${c.steps.posted.tx_hash} (block ${c.steps.posted.block_number})`)
    for (const s of c.slots) {
      const money = s.paid_wei !== '0' ? `paid ${formatEther(BigInt(s.paid_wei))} ETH` : s.slashed_wei !== '0' ? `slashed ${formatEther(BigInt(s.slashed_wei))} ETH` : ''
      lines.push(`  slot ${s.index}  ${shortAddress(s.worker)}  ${s.outcome.padEnd(11)} root ${s.revealed_root ?? '(not revealed)'}  ${money}`)
      if (s.commit) lines.push(`          commit tx ${s.commit.tx_hash} (block ${s.commit.block_number})`)
      if (s.reveal) lines.push(`          reveal tx ${s.reveal.tx_hash} (block ${s.reveal.block_number})`)
    }
    if (c.steps.finalized) {
      const depth = c.confirmations === null ? '' : `, ${c.confirmations} confirmation${c.confirmations === 1 ? '' : 's'}`
      lines.push(`  finalized       tx ${c.steps.finalized.tx_hash} (block ${c.steps.finalized.block_number}${depth})`)
    }
    for (const r of c.steps.refunds) lines.push(`  refunded        ${formatEther(BigInt(r.amount_wei))} ETH to the requester, tx ${r.tx_hash} (block ${r.block_number})`)
  }
  if (verdict.file) lines.push(`  file ${verdict.file.path}: ${verdict.file.code}`)
  if (verdict.folder) {
    // Compared with entries that do not hash to the root, "ok" would only mean "as the gateway claims".
    const label = (status: string): string => (status === 'ok' && !verdict.folder!.verified && !verdict.folder!.claimsMatchRoot ? 'unproven' : status)
    for (const f of verdict.folder.files) lines.push(`  ${label(f.status).padEnd(10)} ${f.path}${f.expectedPath ? ` (is ${f.expectedPath})` : ''}`)
    for (const p of verdict.folder.missing) lines.push(`  missing    ${p}`)
  }
  lines.push(`${verdict.verified ? 'VERIFIED' : 'NOT VERIFIED'} (${verdict.method}): ${verdict.reason}`, `  note: ${verdict.caveat}`)
  return `${lines.join('\n')}\n`
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      rpc: { type: 'string' },
      deployment: { type: 'string' },
      market: { type: 'string' },
      gateway: { type: 'string' },
      file: { type: 'string' },
      path: { type: 'string' },
      dir: { type: 'string' },
      entries: { type: 'string' },
      worker: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  })
  const [jobId] = positionals
  if (values.help || !jobId || (values.file && values.dir) || Boolean(values.rpc) !== Boolean(values.deployment || values.market) || (values.deployment && values.market)) {
    process.stdout.write(usage)
    return values.help ? 0 : 2
  }
  const method = values.rpc ? ('chain' as const) : ('worker-signature' as const)
  let verdict: Verdict
  try {
    verdict = values.rpc ? await verifyOnChain(jobArgument(jobId), values) : await verifyBySignature(gatewayJobId(jobId), values)
  } catch (error) {
    // Anything that stops the check is a "not verified", said plainly; nothing here can pass by accident.
    if (!(error instanceof NotVerified || error instanceof VerifierError || error instanceof SandrunClientError || error instanceof SyntaxError)) throw error
    const reason = error instanceof VerifierError ? `${error.code}: ${error.shortMessage}` : error instanceof SandrunError ? error.shortMessage : error.message
    verdict = { verified: false, method, reason, caveat: method === 'chain' ? chainCaveat : signatureCaveat, chain: null, file: null, folder: null }
  }
  process.stdout.write(values.json ? `${JSON.stringify({ job_id: jobId, ...verdict }, null, 2)}\n` : render(jobId, verdict))
  return verdict.verified ? 0 : 1
}

