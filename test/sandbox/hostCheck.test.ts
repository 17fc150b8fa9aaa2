// The start-up check: a host where bwrap cannot make a sandbox for the job user fails when the
// service starts, with bwrap's reason, not on the first job.
import { describe, expect, it } from 'vitest'
import { bwrapSmokeTest } from '../../sandbox/createSandbox.ts'

describe('bwrap smoke test', () => {
  it('passes on this host for the unprivileged job user', () => {
    expect(bwrapSmokeTest('/usr/bin/bwrap', { uid: 65534, gid: 65534 })).toBeNull()
  })

  it('reports why when bwrap cannot start a sandbox', () => {
    // A command that exits non-zero with a message, standing in for a bwrap refused by the kernel.
    const failure = bwrapSmokeTest('/usr/bin/false')
    expect(failure).not.toBeNull()
  })
})
