// Everything `createSandbox` sets up once and every job shares: the host runtime and the pool of
// pre-started sandboxes built from it (kept apart so that the pool does not depend on this type).
import type { SandboxHostRuntime } from './sandboxHostRuntime.ts'
import type { WarmPool } from './warmPool.ts'

export type SandboxRuntime = SandboxHostRuntime & {
  /** Pre-started sandboxes for jobs of the default shape (see warmPool.ts); absent where unsupported. */
  warmPool?: WarmPool | undefined
  /** Jobs started in a pre-started sandbox. */
  warmStarts: number
}
