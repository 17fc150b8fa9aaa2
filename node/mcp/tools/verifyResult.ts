// verify_result: whether a job's result is proven and by what: the market consensus on chain
// (agreeing, dissenting and slashed workers, chain ids, tx hashes) or, in local and pool modes, only
// a worker's signature; the answer always carries the gateway's caveat on what it does not prove.
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import { z } from 'zod'
import { SandrunClientError } from '../../client/clientError.ts'
import type { SandrunClient, VerifyReturnType } from '../../client/sandrunClient.ts'
import { gatewayJobId } from '../../../verifier/index.ts'
import type { ReceiptStore } from '../receiptStore.ts'
import { withToolErrors } from '../withToolErrors.ts'

type ChainSlot = { worker?: string | null; outcome?: string; revealed_root?: string | null }

function describeReport(report: VerifyReturnType): string {
  const chain = report.chain as { chain_id?: number; market?: string; job_id?: string; status?: string; consensus_root?: string | null; slots?: ChainSlot[] } | null | undefined
  const lines = [
    `${report.verified ? 'verified' : 'NOT verified'} (${report.method ?? 'unknown method'}): ${report.reason ?? ''}`,
    report.result_root ? `result root: ${report.result_root}` : '',
    report.worker ? `worker: ${report.worker.worker_id} (signature ${report.worker.signature_valid ? 'valid' : 'INVALID'})` : '',
    chain ? `chain ${chain.chain_id}, market ${chain.market}, on-chain job ${chain.job_id}: ${chain.status}, consensus root ${chain.consensus_root ?? 'none'}` : '',
    ...(chain?.slots ?? []).map((slot) => `  slot ${slot.worker ?? '(empty)'}: ${slot.outcome ?? '?'}`),
    report.caveat ? `caveat: ${report.caveat}` : '',
  ]
  return lines.filter(Boolean).join('\n')
}

export function registerVerifyResult(server: McpServer, client: SandrunClient, receipts: ReceiptStore): void {
  server.registerTool(
    'verify_result',
    {
      title: 'Verification of a result',
      description:
        'Whether a finished job\'s result is proven and by what: on a market gateway, the on-chain consensus (result root, agreeing/dissenting/slashed workers, chain id, market, tx hashes); on a local or pool gateway, only the worker\'s signature.',
      inputSchema: { job_id: z.string().describe('The id from submit_job or execute_code.') },
      annotations: { readOnlyHint: true, openWorldHint: true },
    },
    withToolErrors(async ({ job_id }, extra) => {
      const jobId = gatewayJobId(job_id)
      try {
        const report = await client.verify(jobId, { signal: extra.signal })
        return { content: [{ type: 'text', text: describeReport(report) }], structuredContent: { ...report } }
      } catch (error) {
        // Downloaded and so deleted by the gateway: the receipt kept at download is checked here.
        const kept = error instanceof SandrunClientError && error.code === 'NOT_FOUND' ? await receipts.verify(jobId) : undefined
        if (kept) return { content: [{ type: 'text', text: describeReport(kept) }], structuredContent: { ...kept } }
        // Gateways from before GET /verify/:id: fall back to what /status says.
        if (!(error instanceof SandrunClientError) || error.code !== 'NOT_SUPPORTED') throw error
        const status = await client.status(jobId, { signal: extra.signal })
        if (status.verification) return { content: [{ type: 'text', text: JSON.stringify(status.verification, null, 2) }], structuredContent: { ...status.verification } }
        throw new SandrunClientError('NOT_SUPPORTED', `${error.shortMessage} Job ${jobId} has result root ${status.job_hash ?? 'none yet'}, not checked by independent workers.`)
      }
    }),
  )
}
