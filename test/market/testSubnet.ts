// A private test network made of Linux network namespaces: a bridge in the root namespace that
// holds 10.213.<n>.1, and one namespace per host joined to it by a veth pair, so processes started
// in a namespace reach each other and the root only through addresses this helper created.
// Names carry the test process's pid, so leftovers of a killed run can be told apart and removed.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)

export type SubnetHost = {
  /** The `ip netns` name. */
  netns: string
  /** Its IPv4 address on the subnet. */
  address: string
  /** The veth end in the root namespace: taking it down cuts the host off. */
  hostLink: string
}

export type TestSubnet = {
  /** The root namespace's address on the bridge (anvil and the gateway listen here). */
  bridgeAddress: string
  hosts: SubnetHost[]
  /** Cuts a host off the network (its link goes down; its processes keep running). */
  cut(host: SubnetHost): Promise<void>
  /** Deletes every namespace, veth and the bridge; safe to call twice or after a failed set-up. */
  remove(): Promise<void>
}

const prefix = 'sandrun-ns'

async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args)).stdout
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('The network-namespace tests need `ip` (iproute2) and `nsenter` (util-linux) and root: apt-get install iproute2 util-linux.', { cause: error })
    }
    throw new Error(`ip ${args.join(' ')} failed: ${(error as { stderr?: string }).stderr?.trim() || String(error)} (these tests need root for ip netns and veth).`, { cause: error })
  }
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`)

/** Removes namespaces and bridges left by test processes that no longer exist (a killed run). */
async function removeLeftovers(): Promise<void> {
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const match = new RegExp(`^(${prefix}-(\\d+)-\\d+)\\b`).exec(line)
    if (match && !alive(Number(match[2]))) await ip('netns', 'delete', match[1]!).catch(() => undefined)
  }
  for (const line of (await ip('-o', 'link', 'show', 'type', 'bridge')).split('\n')) {
    const match = /^\d+: (srbr([0-9a-z]+))[:@]/.exec(line)
    if (match && !alive(parseInt(match[2]!, 36))) await ip('link', 'delete', match[1]!).catch(() => undefined)
  }
}

export async function createTestSubnet({ hosts: count }: { hosts: number }): Promise<TestSubnet> {
  await ip('-V')
  await removeLeftovers()
  const pid = process.pid
  const tag = pid.toString(36)
  // One /24 per test process, so concurrent runs do not share a subnet.
  const subnet = `10.213.${(pid % 250) + 1}`
  if ((await ip('-4', '-o', 'addr', 'show')).includes(` ${subnet}.`)) {
    throw new Error(`${subnet}.0/24 is already in use on this machine; rerun the test (it picks the subnet from its pid).`)
  }
  const bridge = `srbr${tag}`
  const hosts: SubnetHost[] = Array.from({ length: count }, (_, i) => ({ netns: `${prefix}-${pid}-${i + 1}`, address: `${subnet}.${11 + i}`, hostLink: `srv${tag}h${i + 1}` }))
  const created: Array<() => Promise<unknown>> = []
  const remove = async (): Promise<void> => {
    // Deleting a namespace deletes the veth end inside it, and with it the root end.
    for (const undo of created.splice(0).reverse()) await undo().catch(() => undefined)
  }
  try {
    await ip('link', 'add', bridge, 'type', 'bridge')
    created.push(() => ip('link', 'delete', bridge))
    await ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge)
    await ip('link', 'set', bridge, 'up')
    for (const [i, host] of hosts.entries()) {
      const inner = `srv${tag}n${i + 1}`
      await ip('netns', 'add', host.netns)
      created.push(() => ip('netns', 'delete', host.netns))
      await ip('link', 'add', host.hostLink, 'type', 'veth', 'peer', 'name', inner, 'netns', host.netns)
      await ip('link', 'set', host.hostLink, 'master', bridge, 'up')
      await ip('-n', host.netns, 'addr', 'add', `${host.address}/24`, 'dev', inner)
      await ip('-n', host.netns, 'link', 'set', inner, 'up')
      await ip('-n', host.netns, 'link', 'set', 'lo', 'up')
    }
  } catch (error) {
    await remove()
    throw error
  }
  return {
    bridgeAddress: `${subnet}.1`,
    hosts,
    async cut(host) {
      await ip('link', 'set', host.hostLink, 'down')
    },
    remove,
  }
}
