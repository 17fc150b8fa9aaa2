// The environment digests this host can run (docs/environments.md, "The environment digest"): one per installed template and
// available interpreter, computed exactly as the gateway computes the digest it puts in a spec, so
// a worker takes only jobs whose digest it has.
import { environmentDigestInput, type HostCapabilities } from '../../../sandbox/index.ts'
import { environmentDigest } from '../../../verifier/index.ts'

export type HostEnvironments = {
  /** The digest of `environment` run by `interpreter` here; null when this host cannot run it. */
  digestFor(environment: string, interpreter: string): string | null
  /** Every digest this host has (heartbeats advertise them). */
  digests: string[]
  /** Interpreters available here. */
  interpreters: string[]
}

export function hostEnvironments(capabilities: Pick<HostCapabilities, 'environments' | 'interpreters'>): HostEnvironments {
  const byKey = new Map<string, string>()
  const available = capabilities.interpreters.filter((i) => i.available && i.version !== null)
  for (const detection of capabilities.environments) {
    for (const interpreter of available) {
      const input = environmentDigestInput({ detection, interpreterVersion: interpreter.version!, interpreterName: interpreter.name })
      if (input) byKey.set(`${detection.template.name}\0${interpreter.name}`, environmentDigest(input))
    }
  }
  return {
    digestFor: (environment, interpreter) => byKey.get(`${environment}\0${interpreter}`) ?? null,
    digests: [...new Set(byKey.values())],
    interpreters: available.map((i) => i.name),
  }
}
