// The one thing a market gateway keeps in clear on disk: which jobs it posted on chain and has not
// yet seen settle, so that a gateway restarted after a crash (whose job data died with the old
// process) still finalizes them and gets its escrow back. An entry holds chain facts only, all
// public once the job is posted (chain id, market, spec hash, a block number, the on-chain id):
// nothing a user sent, and not the job id that gives access to a job over the API.
import { randomBytes } from 'node:crypto'
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { Address } from 'viem'
import { type ChainJobId, chainJobId, parseSpecHash, type SpecHash } from '../../../verifier/index.ts'

export type LedgerEntry = {
  /** The entry's own name in the ledger. */
  key: string
  specHash: SpecHash
  /** A block at or before the post: where a restart looks for the JobPosted event. */
  fromBlock: bigint
  /** Null while the post's receipt had not been seen. */
  chainJobId: ChainJobId | null
}

export type OpenJobLedger = {
  /** Before the post is sent: the entry a restart resolves by spec hash if the receipt was never seen. */
  posting(parameters: { specHash: SpecHash; fromBlock: bigint }): Promise<string>
  /** The post's receipt: the entry now names the on-chain job. */
  posted(key: string, chainJobId: ChainJobId): Promise<void>
  /** The job is no longer Open on chain (or was never posted): nothing left to finalize. */
  drop(key: string): Promise<void>
  /** Entries of this chain and market left by earlier runs or this one. */
  list(): Promise<LedgerEntry[]>
}

type StoredEntry = { v: 1; chainId: number; market: string; specHash: string; fromBlock: string; chainJobId: string | null }

/** The key of the entry of an on-chain job (what `drop` takes once the job settled). */
export const chainEntryKey = (chainJobId: ChainJobId): string => `job-${chainJobId}`

const keyPattern = /^(job-[0-9]{1,78}|posting-[0-9a-f]{16})$/

export async function openJobLedger({ dataDir, chainId, market }: { dataDir: string; chainId: number; market: Address }): Promise<OpenJobLedger> {
  const root = path.join(path.resolve(dataDir), 'open-jobs')
  await mkdir(root, { recursive: true, mode: 0o700 })
  const fileOf = (key: string): string => {
    if (!keyPattern.test(key)) throw new Error('invalid ledger key')
    return path.join(root, `${key}.json`)
  }
  const store = async (key: string, entry: StoredEntry): Promise<void> => {
    // Replaced atomically: a crash leaves the old entry or the new one, never half of one.
    const temporary = `${fileOf(key)}.${process.pid}.tmp`
    await writeFile(temporary, JSON.stringify(entry), { mode: 0o600 })
    await rename(temporary, fileOf(key))
  }
  const base = { v: 1 as const, chainId, market: market.toLowerCase() }
  const pending = new Map<string, StoredEntry>()

  return {
    async posting({ specHash, fromBlock }) {
      const key = `posting-${randomBytes(8).toString('hex')}`
      const entry: StoredEntry = { ...base, specHash, fromBlock: fromBlock.toString(), chainJobId: null }
      await store(key, entry)
      pending.set(key, entry)
      return key
    },
    async posted(key, chainJobId) {
      const entry = pending.get(key) ?? (await readFile(fileOf(key), 'utf8').then((text) => JSON.parse(text) as StoredEntry, () => undefined))
      pending.delete(key)
      if (!entry) return
      await store(chainEntryKey(chainJobId), { ...entry, chainJobId: chainJobId.toString() })
      await rm(fileOf(key), { force: true })
    },
    async drop(key) {
      pending.delete(key)
      await rm(fileOf(key), { force: true })
    },
    async list() {
      const entries: LedgerEntry[] = []
      for (const name of await readdir(root)) {
        const key = name.replace(/\.json$/, '')
        if (!name.endsWith('.json') || !keyPattern.test(key)) continue
        const stored = await readFile(path.join(root, name), 'utf8')
          .then((text) => JSON.parse(text) as StoredEntry)
          .catch(() => null)
        if (!stored || stored.chainId !== chainId || stored.market !== base.market) continue
        const onChain = stored.chainJobId === null ? null : chainJobId(stored.chainJobId)
        entries.push({ key, specHash: parseSpecHash(stored.specHash), fromBlock: BigInt(stored.fromBlock), chainJobId: onChain })
      }
      return entries
    },
  }
}
