// The worker's derived secrets: its eth account comes from the worker key alone (same key, same
// address, on any machine), and its commit salt can be recomputed after a restart but differs for
// every job, chain and market.
import { encodePacked, keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, it } from 'vitest'
import { workerKeyFromSeed } from '../../../verifier/workerIdentity.ts'
import { ethAccountFromWorkerKey } from '../ethAccount.ts'
import { parseFaultMode } from './faultMode.ts'
import { jobSalt } from './jobSalt.ts'
import { chainJobId } from '../../../verifier/index.ts'

const seed = Uint8Array.from({ length: 32 }, (_, i) => i + 1)
const market = '0x5FbDB2315678afecb367f032d93F642f64180aa3'

describe('ethAccountFromWorkerKey', () => {
  it('is the account of keccak256("sandrun-eth-v1" || seed), the same on every load of the key', () => {
    const expected = privateKeyToAccount(keccak256(encodePacked(['string', 'bytes'], ['sandrun-eth-v1', toHex(seed)])))
    expect(ethAccountFromWorkerKey(workerKeyFromSeed(seed)).address).toBe(expected.address)
    expect(ethAccountFromWorkerKey(workerKeyFromSeed(seed.map((b) => b ^ 1))).address).not.toBe(expected.address)
  })
})

describe('jobSalt', () => {
  it('is keccak256("sandrun-salt-v1" || seed || uint256 chainId || market || uint256 jobId)', () => {
    const expected = keccak256(encodePacked(['string', 'bytes32', 'uint256', 'address', 'uint256'], ['sandrun-salt-v1', toHex(seed), 31337n, market, 7n]))
    expect(jobSalt({ seed, chainId: 31337, market, jobId: chainJobId(7n) })).toBe(expected)
  })
  it('differs per job, chain and market', () => {
    const base = jobSalt({ seed, chainId: 31337, market, jobId: chainJobId(7n) })
    expect(jobSalt({ seed, chainId: 31337, market, jobId: chainJobId(8n) })).not.toBe(base)
    expect(jobSalt({ seed, chainId: 1337, market, jobId: chainJobId(7n) })).not.toBe(base)
    expect(jobSalt({ seed, chainId: 31337, market: '0x0000000000000000000000000000000000000001', jobId: chainJobId(7n) })).not.toBe(base)
  })
})

describe('parseFaultMode', () => {
  it('accepts the fault modes on dev chains only', () => {
    expect(parseFaultMode({ value: undefined, chainId: 1 })).toBeNull()
    expect(parseFaultMode({ value: 'wrong-result', chainId: 31337 })).toBe('wrong-result')
    expect(parseFaultMode({ value: 'no-reveal', chainId: 1337 })).toBe('no-reveal')
    expect(() => parseFaultMode({ value: 'crash-after-commit', chainId: 1 })).toThrow(expect.objectContaining({ code: 'FAULT_REFUSED' }))
    expect(() => parseFaultMode({ value: 'lie', chainId: 31337 })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }))
  })
})
