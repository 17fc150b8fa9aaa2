import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['{errors,sandbox,verifier,contracts,node,test}/**/*.test.ts'],
    setupFiles: ['./node/promiseWithResolvers.ts'],
    globalSetup: ['./test/buildDist.ts'],
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // 2-core CI machine: sandbox tests spawn many processes; two files at a time keeps it honest.
    maxWorkers: 2,
  },
})
