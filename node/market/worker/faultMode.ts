// The worker's fault switch for tests and demos: behave dishonestly in one chosen way so slashing
// and consensus can be watched end to end. Refused on any chain but a local dev chain, so a typo in
// a production command line cannot burn real collateral.
import { WorkerError } from './workerError.ts'

export const faultModes = ['wrong-result', 'forged-result', 'no-reveal', 'crash-after-commit'] as const
export type FaultMode = (typeof faultModes)[number]

/** Anvil's and Ganache/Hardhat's default chain ids. */
export const devChainIds: readonly number[] = [31337, 1337]

export type ParseFaultModeParameters = {
  /** The `--fault` value; undefined = honest worker. */
  value: string | undefined
  /** The chain id the RPC reports (not the deployment file's claim). */
  chainId: number
}

export function parseFaultMode({ value, chainId }: ParseFaultModeParameters): FaultMode | null {
  if (value === undefined) return null
  if (!(faultModes as readonly string[]).includes(value)) {
    throw new WorkerError('CONFIG_INVALID', `--fault "${value}" is unknown; use one of ${faultModes.join(', ')}.`)
  }
  if (!devChainIds.includes(chainId)) {
    throw new WorkerError('FAULT_REFUSED', `--fault is only allowed on a local dev chain (chain id ${devChainIds.join(' or ')}), but the RPC serves chain ${chainId}; drop --fault.`)
  }
  return value as FaultMode
}

/**
 * The wrong stdout a faulty worker commits. `wrong-result`: stdout plus a line naming the worker,
 * so two faulty workers disagree with each other too. `forged-result`: the same extra line for every
 * such worker, as one operator's sybils that agree on a made-up result would commit.
 */
export function alteredStdout(stdout: Uint8Array, workerAddress: string, mode: 'wrong-result' | 'forged-result' = 'wrong-result'): Uint8Array {
  const line = mode === 'forged-result' ? '[sandrun fault forged-result]\n' : `[sandrun fault wrong-result ${workerAddress.toLowerCase()}]\n`
  return Buffer.concat([stdout, Buffer.from(line, 'utf8')])
}
