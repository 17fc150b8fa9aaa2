// `sandrun doctor`: what this host supports — bubblewrap, user namespaces, cgroups, seccomp and
// each interpreter with its version — and what to install for what is missing.
import { parseArgs } from 'node:util'
import { createSandbox, interpreterSpecs } from '../../../sandbox/index.ts'

export const description = 'Show what this host supports (bwrap, namespaces, cgroups, seccomp, interpreters)'

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } })
  if (values.help) {
    process.stdout.write('Usage: sandrun doctor [--json]\n')
    return 0
  }
  const sandbox = await createSandbox()
  try {
    const caps = sandbox.capabilities
    if (values.json) {
      process.stdout.write(`${JSON.stringify(caps, null, 2)}\n`)
      return 0
    }
    const ok = (b: boolean) => (b ? 'ok  ' : 'MISSING')
    const lines = [
      `bubblewrap        ${caps.bwrapVersion ? `ok   ${caps.bwrapVersion}` : 'MISSING (apt-get install bubblewrap)'}`,
      `user namespaces   ${ok(caps.userNamespaces)}`,
      `seccomp filter    ${ok(caps.seccomp)}`,
      `cgroups           ${caps.cgroupVersion ? `ok   ${caps.cgroupVersion} (${caps.cgroupControllers.join(', ')})` : 'none'}`,
      `isolation         ${caps.isolation}${caps.isolationNote ? ` — ${caps.isolationNote}` : ''}`,
      ...(caps.cgroupRemedy ? [`  to fix           ${caps.cgroupRemedy}`] : []),
      `process launcher  ${caps.processLauncher}${caps.processLauncherNote ? ` — ${caps.processLauncherNote}` : ''}`,
      `warm sandboxes    ${caps.warmSandboxes}`,
      '',
      'interpreters:',
    ]
    for (const info of caps.interpreters) {
      const spec = interpreterSpecs.find((s) => s.name === info.name)
      lines.push(
        `  ${info.name.padEnd(8)} ${info.available ? `ok   ${info.version}` : `MISSING (apt-get install ${spec?.debianPackage ?? info.name})`}`,
      )
    }
    process.stdout.write(`${lines.join('\n')}\n`)
    return caps.bwrapVersion ? 0 : 1
  } finally {
    await sandbox.close()
  }
}
