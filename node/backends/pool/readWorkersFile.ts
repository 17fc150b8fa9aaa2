// Reads the pool's allowlist, Sandrun's workers.json: a list of `{worker_id, endpoint?,
// max_concurrent_jobs}`. A worker_id is the base64 Ed25519 public key, so it names the worker's
// libp2p peer id too: only a peer holding that key can be that worker (noise proves it).
import { readFile } from 'node:fs/promises'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { PoolError } from '../../pool/poolError.ts'
import { errorCodeOf } from '../../../errors/index.ts'

export type AllowlistedWorker = {
  workerId: string
  /** The libp2p peer id of worker_id (12D3KooW...). */
  peerId: string
  /** Where the gateway dials the worker; null = the worker connects to the gateway (--bootstrap). */
  endpoint: string | null
  maxConcurrentJobs: number
}

export type ParseWorkersParameters = {
  value: unknown
  /** Named in error messages. */
  source: string
}

/** Default slots when an entry has no max_concurrent_jobs: the worker's own --max-jobs default. */
export const defaultMaxConcurrentJobs = 2

const allowedFields = new Set(['worker_id', 'endpoint', 'max_concurrent_jobs'])

export function parseWorkers({ value, source }: ParseWorkersParameters): AllowlistedWorker[] {
  const fail = (why: string): PoolError =>
    new PoolError('WORKERS_FILE_INVALID', `${source}: ${why}`, {
      details: 'workers.json is a JSON list like [{"worker_id": "<base64 Ed25519 public key from sandrun keygen>", "max_concurrent_jobs": 2, "endpoint": "/ip4/10.0.0.5/tcp/4001"}]',
    })
  if (!Array.isArray(value)) throw fail('the top level must be a list of workers.')
  const seen = new Set<string>()
  return value.map((entry: unknown, index) => {
    const where = `entry ${index}`
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw fail(`${where} must be an object.`)
    const record = entry as Record<string, unknown>
    const unknown = Object.keys(record).filter((k) => !allowedFields.has(k))
    if (unknown.length > 0) throw fail(`${where} has unknown field(s) ${unknown.map((k) => JSON.stringify(k.slice(0, 40))).join(', ')}.`)
    const workerId = record.worker_id
    const raw = typeof workerId === 'string' ? Buffer.from(workerId, 'base64') : undefined
    if (typeof workerId !== 'string' || raw?.length !== 32 || raw.toString('base64') !== workerId) {
      throw fail(`${where}: worker_id must be the base64 of a 32-byte Ed25519 public key (the worker_id \`sandrun keygen\` prints).`)
    }
    if (seen.has(workerId)) throw fail(`${where}: worker_id ${workerId} is listed twice.`)
    seen.add(workerId)
    const peerId = peerIdFromPublicKey(publicKeyFromRaw(raw)).toString()
    const max = record.max_concurrent_jobs ?? defaultMaxConcurrentJobs
    if (typeof max !== 'number' || !Number.isSafeInteger(max) || max < 1 || max > 1024) throw fail(`${where}: max_concurrent_jobs must be a whole number 1-1024.`)
    let endpoint: string | null = null
    if (record.endpoint !== undefined && record.endpoint !== null) {
      if (typeof record.endpoint !== 'string') throw fail(`${where}: endpoint must be a multiaddr string like /ip4/10.0.0.5/tcp/4001.`)
      let named: string | undefined
      try {
        named = multiaddr(record.endpoint).getComponents().findLast((c) => c.name === 'p2p')?.value
      } catch {
        throw fail(`${where}: endpoint "${record.endpoint.slice(0, 200)}" is not a multiaddr (e.g. /ip4/10.0.0.5/tcp/4001).`)
      }
      if (named !== undefined && named !== peerId) throw fail(`${where}: endpoint names peer ${named}, but worker_id ${workerId} is peer ${peerId}.`)
      // The peer id is always pinned, so the dial fails unless the remote proves it holds the key.
      endpoint = named === undefined ? `${record.endpoint}/p2p/${peerId}` : record.endpoint
    }
    return { workerId, peerId, endpoint, maxConcurrentJobs: max }
  })
}

export async function readWorkersFile(file: string): Promise<AllowlistedWorker[]> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (error) {
    throw new PoolError('WORKERS_FILE_INVALID', `Cannot read the workers file ${file}; check the path given to --workers.`, { details: errorCodeOf(error), cause: error })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new PoolError('WORKERS_FILE_INVALID', `The workers file ${file} is not valid JSON.`)
  }
  return parseWorkers({ value, source: file })
}
