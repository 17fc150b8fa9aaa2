// Long-running commands (serve, gateway, worker, mcp) run until Ctrl-C or a SIGTERM.
export function untilStopped(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGINT', resolve)
    process.once('SIGTERM', resolve)
  })
}
