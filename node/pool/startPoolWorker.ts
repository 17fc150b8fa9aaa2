// A pool-mode worker (`sandrun worker --mode pool`): a libp2p host keyed by the worker key that keeps
// a connection to its gateways and serves them the exec protocol, running each job in this
// machine's sandbox and signing the result root. No chain, no stake: the gateway's allowlist is the trust.
// Nothing of a job rests on disk: outputs wait on tmpfs until sent, the result goes back in the reply.
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { SandboxError, parseManifest, type Sandbox } from '../../sandbox/index.ts'
import { sealResult } from '../../verifier/index.ts'
import { createHost, type CreateHostParameters, type SandrunHost } from '../p2p/createHost.ts'
import { execService, type ExecRunParameters, type ExecService } from '../p2p/execService.ts'
import { PoolError } from './poolError.ts'
import { openStorage } from '../storage/openStorage.ts'
import { scratchDirFor } from '../storage/scratchDirFor.ts'
import { errorCodeOf } from '../../errors/index.ts'

export type PoolWorkerLog = (message: string, context: Record<string, unknown>) => void

export type StartPoolWorkerParameters = {
  /** The worker key (`sandrun keygen`); its worker_id must be in the gateway's workers.json. */
  keyFile: string
  /** The gateways' multiaddrs, each ending in /p2p/<peer id>: dialled, kept connected, and the only peers allowed to send jobs. */
  bootstrap: string[]
  listen?: string[] | undefined
  announce?: string[] | undefined
  /** Jobs run at once; more are refused with BUSY. */
  maxJobs?: number | undefined
  /** Created once per process by the caller (createSandbox). */
  sandbox: Pick<Sandbox, 'runJob'>
  /** tmpfs directory where each job's collected outputs wait until sent (default: scratchDirFor(keyFile), on /dev/shm). */
  scratchDir?: string | undefined
  /** Accept a scratch dir that is not tmpfs (output files would touch a disk in clear). */
  allowDiskStorage?: boolean | undefined
  reconnectMs?: number | undefined
  log?: PoolWorkerLog | undefined
  /** Extra host options (tests). */
  host?: Partial<CreateHostParameters> | undefined
}

export type PoolWorkerNode = {
  host: SandrunHost
  peerId: string
  workerId: string
  /** Jobs running now. */
  running(): number
  stop(): Promise<void>
}

export const defaultPoolWorkerOptions = {
  // One job per core on the 2-core machines the project targets; the sandbox caps each job anyway.
  maxJobs: 2,
  // A restarted gateway finds its workers back within a couple of seconds.
  reconnectMs: 2000,
} as const

function gatewayPeer(address: string): string {
  let id: string | undefined
  try {
    id = multiaddr(address).getComponents().findLast((c) => c.name === 'p2p')?.value
  } catch (error) {
    throw new PoolError('CONFIG_INVALID', `--bootstrap "${address}" is not a multiaddr; pass the gateway's address as printed in its ready line.`, { cause: error })
  }
  if (id === undefined) throw new PoolError('CONFIG_INVALID', `--bootstrap "${address}" has no /p2p/<peer id>; the worker takes jobs only from a gateway it can identify.`)
  return peerIdFromString(id).toString()
}

export async function startPoolWorker(parameters: StartPoolWorkerParameters): Promise<PoolWorkerNode> {
  const { sandbox } = parameters
  const log = parameters.log ?? (() => undefined)
  const maxJobs = parameters.maxJobs ?? defaultPoolWorkerOptions.maxJobs
  if (parameters.bootstrap.length === 0) throw new PoolError('CONFIG_INVALID', 'A pool worker needs --bootstrap <gateway multiaddr> (the /p2p/ address the gateway prints).')
  const gateways = new Map(parameters.bootstrap.map((address) => [gatewayPeer(address), address]))
  // Opening it empties what a crashed run of this worker left there.
  const scratch = await openStorage({ root: parameters.scratchDir ?? scratchDirFor(parameters.keyFile), requireTmpfs: !parameters.allowDiskStorage, flag: '--scratch-dir' })
  const host = await createHost({
    ...parameters.host,
    keyFile: parameters.keyFile,
    ...(parameters.listen ? { listen: parameters.listen } : {}),
    ...(parameters.announce ? { announce: parameters.announce } : {}),
  })
  const key = host.workerKey
  let running = 0

  const run = async ({ jobId, manifest: input, bundle, onOutput, signal }: ExecRunParameters) => {
    let dir: string | undefined
    try {
      const manifest = parseManifest(input)
      dir = scratch.createJobDir()
      log('job running', { jobId, bundleBytes: bundle.byteLength })
      const result = await sandbox.runJob({ manifest, bundle, outputDir: dir, signal, onOutput: (stream, chunk) => onOutput(stream, chunk) })
      if (signal.aborted) throw new Error('the job was cancelled by the gateway')
      const { entries, resultRoot: root, exit, worker } = sealResult(result, key)
      const outputs = await Promise.all(result.outputs.map(async (file) => ({ name: `outputs/${file.path}`, content: new Uint8Array(await readFile(file.hostPath)) })))
      log('job finished', { jobId, exitCode: result.exitCode, termination: result.termination, root })
      return {
        type: 'result' as const,
        result: {
          entries,
          files: [
            { name: 'exit', content: exit },
            { name: 'stdout', content: result.stdout },
            { name: 'stderr', content: result.stderr },
            ...outputs,
          ],
          execution: {
            exitCode: result.exitCode,
            termination: result.termination,
            cpuSeconds: result.cpuSeconds,
            memoryPeakBytes: result.memoryPeakBytes,
            wallTimeMs: result.wallTimeMs,
            stdoutTruncated: result.stdoutTruncated,
            stderrTruncated: result.stderrTruncated,
          },
          worker,
        },
      }
    } catch (error) {
      if (error instanceof SandboxError && error.isUserError) {
        log('job refused by the sandbox', { jobId, code: error.code })
        return { type: 'failed' as const, code: error.code, message: error.shortMessage, userError: true }
      }
      // The message may quote the job; the operator's log gets the code only.
      log('job failed on this host', { jobId, code: errorCodeOf(error) ?? 'UNKNOWN' })
      return { type: 'failed' as const, code: 'HOST_FAILURE', message: 'The worker could not run the job.', userError: false }
    } finally {
      if (dir) await scratch.removeJobDir(dir).catch(() => undefined)
    }
  }

  const exec: ExecService = execService({
    run,
    allowPeer: (peerId) => gateways.has(peerId),
    reserve: () => {
      if (running >= maxJobs) return undefined
      running++
      let released = false
      return () => {
        if (!released) running--
        released = true
      }
    },
  })(host.libp2p)
  await exec.start()

  const connected = (peerId: string): boolean => host.libp2p.getConnections(peerIdFromString(peerId)).length > 0
  const onOpen = (event: CustomEvent<{ remotePeer: { toString(): string } }>): void => {
    const peer = event.detail.remotePeer.toString()
    if (gateways.has(peer)) log('connected to gateway', { peer })
  }
  const onClose = (event: CustomEvent<{ toString(): string }>): void => {
    const peer = event.detail.toString()
    if (gateways.has(peer)) log('gateway connection closed', { peer })
  }
  host.libp2p.addEventListener('connection:open', onOpen as never)
  host.libp2p.addEventListener('peer:disconnect', onClose as never)
  const lastFailure = new Map<string, string>()
  const reconnect = (): void => {
    for (const [peer, address] of gateways) {
      if (connected(peer)) continue
      host
        .dial(address, { timeoutMs: 5000 })
        .then(() => lastFailure.delete(peer))
        .catch((error: unknown) => {
          const reason = errorCodeOf(error) ?? 'UNKNOWN'
          // One line per change, not one every few seconds while a gateway is down.
          if (lastFailure.get(peer) !== reason) log('gateway unreachable', { peer, reason })
          lastFailure.set(peer, reason)
        })
    }
  }
  reconnect()
  const timer = setInterval(reconnect, parameters.reconnectMs ?? defaultPoolWorkerOptions.reconnectMs)
  timer.unref()

  log('pool worker ready', { peerId: host.peerId, workerId: key.workerId, multiaddrs: host.multiaddrs(), gateways: [...gateways.keys()], maxJobs })
  return {
    host,
    peerId: host.peerId,
    workerId: key.workerId,
    running: () => running,
    async stop() {
      clearInterval(timer)
      host.libp2p.removeEventListener('connection:open', onOpen as never)
      host.libp2p.removeEventListener('peer:disconnect', onClose as never)
      await exec.stop().catch(() => undefined)
      await host.stop()
      await scratch.close()
    },
  }
}
