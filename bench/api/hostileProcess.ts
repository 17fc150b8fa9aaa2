// The hostile clients of the soak benchmark in a process of their own, so that building bombs and
// holding hundreds of sockets never delays the honest clients' measurements. Runs the actors of
// hostileActors.ts until SIGTERM, then prints one JSON line: each actor's answers by status.
// Usage: node --import tsx bench/api/hostileProcess.ts --url URL --big-log-job ID --output-job ID
import '../../node/promiseWithResolvers.ts'
import { parseArgs } from 'node:util'
import { startHostileActors } from './hostileActors.ts'

const { values } = parseArgs({ options: { url: { type: 'string' }, 'big-log-job': { type: 'string' }, 'output-job': { type: 'string' } } })
const actors = startHostileActors({ base: new URL(values.url!), bigLogJob: values['big-log-job']!, outputJob: values['output-job']! })
process.on('SIGTERM', () => {
  void Promise.all(actors.map((a) => a.stop())).then(() => {
    process.stdout.write(`${JSON.stringify(actors.map((a) => ({ name: a.name, answers: Object.fromEntries(a.tally.counts) })))}\n`)
    process.exit(0)
  })
})
