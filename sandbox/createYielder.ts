// Long synchronous work (walking, writing or sorting tens of thousands of entries) done in slices:
// the caller awaits the yielder between steps, and every few milliseconds it lets the event loop
// run, so the service keeps answering whatever tree a job or a bundle left it.
export type Yielder = () => Promise<void> | undefined

/** A yielder that lets the event loop in once `sliceMs` of work went by since its last turn. */
export function createYielder(sliceMs = 5): Yielder {
  let sliceStart = performance.now()
  return () => {
    if (performance.now() - sliceStart < sliceMs) return undefined
    return new Promise((resolve) =>
      setImmediate(() => {
        sliceStart = performance.now()
        resolve()
      }),
    )
  }
}
