// `sandrun worker status | unstake <eth|all> | withdraw`: the operator's account on the market, for
// the key a worker runs with. status reads the chain; unstake starts the unbonding of free stake;
// withdraw takes out unbonded stake and the credited balance (rewards, refunds).
import { parseArgs } from 'node:util'
import { formatEther, parseEther } from 'viem'
import { loadWorkerKey } from '../../verifier/index.ts'
import { readDeployment } from '../chain/deployment.ts'
import { MarketRevertError } from '../chain/errors.ts'
import { createMarketClient } from '../chain/marketClient.ts'
import { ethAccountFromWorkerKey } from '../market/ethAccount.ts'
import { workerAccountReport, type WorkerAccountReport } from '../market/worker/workerAccountReport.ts'

export const workerAccountUsage = `Usage: sandrun worker status   --rpc <url> --deployment <file> --key <file> [--json]
       sandrun worker unstake  <eth|all> --rpc <url> --deployment <file> --key <file>
       sandrun worker withdraw --rpc <url> --deployment <file> --key <file>

  status    stake (free, locked as collateral, unbonding), balance to withdraw, jobs won and lost, earnings
  unstake   start unbonding this much free stake (all: every free wei); it can be withdrawn after the
            deployment's unbonding period, and the worker stops taking jobs it cannot cover
  withdraw  take out unbonded stake (once the period is over) and the credited balance
`

const eth = (wei: bigint): string => `${formatEther(wei)} ETH`

function render(r: WorkerAccountReport): string {
  const now = Math.floor(Date.now() / 1000)
  const unbonding = r.unbondingWei > 0n ? `${eth(r.unbondingWei)} (${r.unbondingEnd <= now ? 'withdrawable now' : `withdrawable in ${r.unbondingEnd - now} s`})` : 'none'
  return [
    `worker ${r.address}`,
    `  stake       ${eth(r.stakedWei)} (free ${eth(r.freeWei)}, locked as collateral ${eth(r.lockedWei)})`,
    `  unbonding   ${unbonding}`,
    `  balance     ${eth(r.balanceWei)} to withdraw (sandrun worker withdraw)`,
    `  jobs        ${r.jobs.won} won, ${r.jobs.lost} lost (${r.jobs.slashed} slashed), ${r.jobs.open} open`,
    `  earned      ${eth(r.earnedWei)} in rewards; ${eth(r.withdrawnWei)} withdrawn so far`,
  ].join('\n')
}

export async function runWorkerAccountCommand(action: 'status' | 'unstake' | 'withdraw', argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { rpc: { type: 'string' }, deployment: { type: 'string' }, key: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  })
  if (values.help) {
    process.stdout.write(workerAccountUsage)
    return 0
  }
  if (!values.rpc || !values.deployment || !values.key || (action === 'unstake' && positionals.length !== 1)) {
    process.stderr.write(`sandrun worker ${action}: needs --rpc, --deployment and --key${action === 'unstake' ? ' and an amount (ETH, or all)' : ''}.\n\n${workerAccountUsage}`)
    return 2
  }
  const deployment = readDeployment({ file: values.deployment })
  const account = ethAccountFromWorkerKey(await loadWorkerKey(values.key))
  const client = createMarketClient({ rpcUrl: values.rpc, address: deployment.market, account, pollingInterval: 100 })
  if (action === 'status') {
    const report = await workerAccountReport(client, { address: account.address, fromBlock: deployment.deployBlock })
    process.stdout.write(values.json ? `${JSON.stringify(report, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v), 2)}\n` : `${render(report)}\n`)
    return 0
  }
  try {
    if (action === 'unstake') {
      const free = (await client.getAccount(account.address)).free
      const amount = positionals[0] === 'all' ? free : parseEther(positionals[0]!)
      if (amount <= 0n) throw new Error(`Nothing to unstake: the free stake is ${eth(free)}.`)
      const { hash } = await client.requestUnstake(amount)
      const after = await client.getAccount(account.address)
      process.stdout.write(`unstaking ${eth(amount)} (tx ${hash}); withdrawable at ${new Date(after.unbondingEnd * 1000).toISOString()} with sandrun worker withdraw\n`)
      return 0
    }
    const before = await client.getAccount(account.address)
    const now = Number((await client.publicClient.getBlock()).timestamp)
    if (before.unbonding > 0n && before.unbondingEnd <= now) process.stdout.write(`withdrew ${eth(before.unbonding)} of unbonded stake (tx ${(await client.withdrawStake()).hash})\n`)
    else if (before.unbonding > 0n) process.stdout.write(`${eth(before.unbonding)} still unbonding for ${before.unbondingEnd - now} s\n`)
    if (before.balance > 0n) process.stdout.write(`withdrew a balance of ${eth(before.balance)} (tx ${(await client.withdraw()).hash})\n`)
    else process.stdout.write('no balance to withdraw\n')
    return 0
  } catch (error) {
    if (error instanceof MarketRevertError) throw new Error(`The market refused: ${error.errorName}. \`sandrun worker status\` shows what is free, locked and unbonding.`, { cause: error })
    throw error
  }
}
