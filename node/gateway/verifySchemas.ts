// Response schemas of GET and POST /verify/:id: what a client learns about a result's proof, and
// the chain's report in the JSON form verifier/chain/jobReportJson.ts writes.
import { Type, type Static } from '@sinclair/typebox'

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()])

const ChainStep = Type.Object({ tx_hash: Type.String(), block_number: Type.String({ description: 'Decimal block number.' }) })

export const ChainReportBody = Type.Object(
  {
    chain_id: Type.Integer(),
    market: Type.String(),
    job_id: Type.String({ description: 'The on-chain job id (decimal).' }),
    status: Type.String({ description: 'None, Open, Finalized, Inconclusive, Cancelled or Expired.' }),
    requester: Type.String(),
    spec_hash: Type.String(),
    consensus_root: Nullable(Type.String()),
    replicas: Type.Integer(),
    quorum: Type.Integer(),
    reward_wei: Type.String(),
    collateral_wei: Type.String(),
    slots: Type.Array(
      Type.Object({
        index: Type.Integer(),
        worker: Nullable(Type.String()),
        revealed_root: Nullable(Type.String()),
        outcome: Type.String({ description: 'Empty, Committed, Revealed, Won, Dissented, NotRevealed or Released.' }),
        paid_wei: Type.String(),
        slashed_wei: Type.String(),
        commit: Nullable(ChainStep),
        reveal: Nullable(ChainStep),
      }),
    ),
    totals: Type.Object({ paid_wei: Type.String(), slashed_wei: Type.String(), refunded_wei: Type.String() }),
    steps: Type.Object({
      posted: Nullable(ChainStep),
      finalized: Nullable(ChainStep),
      cancelled: Nullable(ChainStep),
      refunds: Type.Array(Type.Intersect([ChainStep, Type.Object({ amount_wei: Type.String() })])),
    }),
    verdict: Type.Object({ code: Type.String(), verified: Type.Boolean(), reason: Type.String() }),
    confirmations: Type.Union([Type.Integer(), Type.Null()], {
      description: 'Blocks from the settling block to the head, both counted; null while the job is open. A reorg deeper than this could still undo the settlement.',
    }),
  },
  { description: 'What the chain says, read by the gateway from its RPC; `sandrun verify --rpc` reads the same without the gateway.' },
)

export const ResultEntryBody = Type.Object({ name: Type.String(), sha256: Type.String(), size: Type.Integer() })

export const VerifyResponse = Type.Object({
  job_id: Type.String(),
  method: Type.Union([Type.Literal('chain'), Type.Literal('worker-signature')], {
    description: 'chain: the result root is the market consensus root; worker-signature: local or pool mode, only the worker signature is checked.',
  }),
  verified: Type.Boolean(),
  reason: Type.String(),
  caveat: Type.String({ description: 'What this verification does not prove.' }),
  result_root: Nullable(Type.String({ description: 'Root of the result this gateway serves.' })),
  entries: Type.Array(ResultEntryBody, { description: 'Result entries this gateway serves; recompute the root from them, never trust it.' }),
  worker: Nullable(Type.Object({ worker_id: Type.String(), signature: Type.String(), signature_valid: Type.Boolean() })),
  chain: Nullable(ChainReportBody),
})
export type VerifyResponse = Static<typeof VerifyResponse>

export const VerifyFileResponse = Type.Object({
  job_id: Type.String(),
  method: Type.Union([Type.Literal('chain'), Type.Literal('worker-signature')]),
  path: Type.String(),
  verified: Type.Boolean(),
  code: Type.String({ description: 'VERIFIED, CONTENT_MISMATCH, WRONG_PATH, NOT_IN_RESULT, NAME_INVALID, ENTRIES_MISMATCH or NO_TRUSTED_ROOT.' }),
  reason: Type.String(),
  root: Nullable(Type.String({ description: 'The root the file was checked against.' })),
  expected_path: Type.Optional(Type.String()),
})
