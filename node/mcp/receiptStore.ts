// The MCP server's receipts: before download_output fetches a job's file, the job's result entries,
// root, worker signature and on-chain ids are kept here, because the gateway deletes a job once all
// its outputs were downloaded. verify_result checks a kept receipt itself afterwards (the worker's
// signature, or the chain through --rpc); nothing in a receipt is believed without that check.
import { createPublicClient, isAddress } from 'viem'
import { verifyJob } from '../../verifier/chain/index.ts'
import { chainJobId, type GatewayJobId, resultRoot, verifyWorkerSignature, type ResultEntryInput } from '../../verifier/index.ts'
import type { JobStatusBody, SandrunClient, VerifyReturnType } from '../client/sandrunClient.ts'
import { chainTransport } from '../chain/chainTransport.ts'

type Receipt = { entries: ResultEntryInput[]; resultRoot: string | null; worker: JobStatusBody['worker_metadata']; verification: JobStatusBody['verification'] | null }

export type ReceiptStore = {
  /** Keeps the job's receipt (once); a gateway without /verify leaves nothing to keep. */
  keep(jobId: GatewayJobId): Promise<void>
  /** Checks the kept receipt of a job the gateway no longer has; undefined when none was kept. */
  verify(jobId: GatewayJobId): Promise<VerifyReturnType | undefined>
}

const signatureCaveat = 'Proves only which key signed the result root, not that the result is right; in local and pool modes the operator is trusted.'
const chainCaveat = 'Proves that a quorum of staked workers committed to this result on chain; a colluding majority could still agree on a wrong one. Trusts the RPC node.'

export function createReceiptStore({ client, rpcUrl, maxReceipts = 1000 }: { client: SandrunClient; rpcUrl?: string | undefined; maxReceipts?: number }): ReceiptStore {
  const receipts = new Map<GatewayJobId, Receipt>()

  const onChain = async (jobId: GatewayJobId, receipt: Receipt, root: string): Promise<VerifyReturnType> => {
    const v = receipt.verification!
    const base = { job_id: jobId, method: 'chain', caveat: chainCaveat, result_root: root, entries: receipt.entries }
    if (!rpcUrl) return { ...base, verified: false, reason: `the gateway deleted the job; its kept receipt names on-chain job ${v.job_id} (chain ${v.chain_id}, market ${v.market}): start the MCP server with --rpc <RPC URL of chain ${v.chain_id}> to check it on chain` }
    if (!isAddress(v.market ?? '')) return { ...base, verified: false, reason: 'the kept receipt names no market address' }
    const report = await verifyJob(createPublicClient({ transport: chainTransport(rpcUrl) }), { chainId: v.chain_id!, market: v.market as `0x${string}`, jobId: chainJobId(v.job_id!) })
    const chain = { chain_id: report.chainId, market: report.market, job_id: report.jobId.toString(), status: report.status, consensus_root: report.consensusRoot }
    if (!report.verdict.verified) return { ...base, chain, verified: false, reason: report.verdict.reason }
    const verified = report.consensusRoot?.toLowerCase() === root
    return { ...base, chain, verified, reason: verified ? 'the kept result entries hash to the consensus root on chain' : `the kept entries hash to ${root}, not the on-chain root ${report.consensusRoot}` }
  }

  return {
    async keep(jobId) {
      if (receipts.has(jobId)) return
      const [report, status] = await Promise.all([client.verify(jobId).catch(() => null), client.status(jobId)])
      if (!Array.isArray(report?.entries)) return
      if (receipts.size >= maxReceipts) receipts.delete(receipts.keys().next().value!)
      receipts.set(jobId, { entries: report.entries, resultRoot: status.job_hash, worker: status.worker_metadata, verification: status.verification ?? null })
    },
    async verify(jobId) {
      const receipt = receipts.get(jobId)
      if (!receipt) return undefined
      const root = resultRoot(receipt.entries)
      if (receipt.verification?.job_id) return onChain(jobId, receipt, root)
      const base = { job_id: jobId, method: 'worker-signature', caveat: signatureCaveat, result_root: root, entries: receipt.entries }
      const worker = receipt.worker
      if (!worker || receipt.resultRoot !== root) return { ...base, worker: null, verified: false, reason: 'the kept receipt has no signed root matching its entries' }
      const valid = verifyWorkerSignature({ workerId: worker.worker_id, root, signature: worker.signature })
      return {
        ...base,
        worker: { ...worker, signature_valid: valid },
        verified: valid,
        reason: valid ? `worker ${worker.worker_id} signed result root ${root} (checked from the receipt kept at download; the gateway deleted the job)` : 'the worker signature over the result root is not valid',
      }
    },
  }
}
