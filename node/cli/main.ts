// CLI dispatcher: `sandrun <command> [...]`. Each command is a module in ./commands/<name>.ts
// exporting `description` (one line for `sandrun help`) and `run(argv): Promise<number>` (exit code).
import { readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import path from 'node:path'
import { shortMessageOf } from '../../errors/index.ts'

export type CommandModule = {
  description: string
  run(argv: string[]): Promise<number>
}

const commandsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'commands')
// `.ts` from the source tree (through tsx), `.js` from the built package.
const extension = path.extname(fileURLToPath(import.meta.url))

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((f) => f.endsWith(extension) && !f.endsWith(`.test${extension}`) && !f.endsWith('.d.ts'))
    .map((f) => f.slice(0, -extension.length))
    .sort()
}

async function loadCommand(name: string): Promise<CommandModule | undefined> {
  if (!/^[a-z][a-z-]*$/.test(name) || !commandNames().includes(name)) return undefined
  return (await import(path.join(commandsDir, `${name}${extension}`))) as CommandModule
}

async function printHelp(): Promise<void> {
  const lines = ['Usage: sandrun <command> [options]', '', 'Commands:']
  for (const name of commandNames()) {
    const mod = await loadCommand(name)
    lines.push(`  ${name.padEnd(10)} ${mod?.description ?? ''}`)
  }
  lines.push('', 'Run `sandrun <command> --help` for the options of one command.')
  process.stdout.write(lines.join('\n') + '\n')
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    await printHelp()
    return name ? 0 : 2
  }
  const command = await loadCommand(name)
  if (!command) {
    process.stderr.write(`sandrun: unknown command "${name}". Run \`sandrun help\` for the list.\n`)
    return 2
  }
  try {
    return await command.run(rest)
  } catch (error) {
    // Details go on a line of their own, for errors that keep them apart (Sandrun's and viem's).
    const details = error instanceof Error && 'shortMessage' in error && 'details' in error && typeof error.details === 'string' ? error.details : undefined
    process.stderr.write(`sandrun ${name}: ${shortMessageOf(error)}${details ? `\n  ${details}` : ''}\n`)
    return 1
  }
}
