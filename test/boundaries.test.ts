// The layer rules of ARCHITECTURE.md ("What may import what"), checked on the source: node/ reaches
// sandbox/ and verifier/ only through their index files, errors/ imports nothing, sandbox/ nothing of
// node/ or verifier/, and no module imports itself through a cycle (type-only imports count: they still
// tie the modules' definitions together).
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '..')
const publicEntries = new Set(['errors/index.ts', 'sandbox/index.ts', 'sandbox/bundle/index.ts', 'verifier/index.ts', 'verifier/chain/index.ts'])

function sourceFiles(dir: string): string[] {
  const files: string[] = []
  for (const entry of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const relative = path.posix.join(dir, entry.name)
    if (entry.isDirectory()) {
      if (entry.name !== 'node_modules' && entry.name !== 'artifacts') files.push(...sourceFiles(relative))
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) files.push(relative)
  }
  return files
}

/** Relative imports of a file (static, re-exports, side-effect and dynamic), as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(path.join(root, file), 'utf8')
  const targets: string[] = []
  for (const match of text.matchAll(/(?:\bfrom|^\s*import|\bimport\s*\()\s*'(\.{1,2}\/[^']+)'/gm))
    targets.push(path.posix.normalize(path.posix.join(path.posix.dirname(file), match[1]!)))
  return targets
}

const isTest = (file: string) => /\.test\.ts$/.test(file)
const files = ['errors', 'sandbox', 'verifier', 'contracts', 'node'].flatMap(sourceFiles).filter((file) => !isTest(file))
const graph = new Map(files.map((file) => [file, importsOf(file)]))

describe('layer boundaries', () => {
  it('node/ imports sandbox/ and verifier/ only through their index files', () => {
    const edges = new Set<string>()
    for (const [file, targets] of graph) {
      if (!file.startsWith('node/')) continue
      for (const target of targets)
        if ((target.startsWith('errors/') || target.startsWith('sandbox/') || target.startsWith('verifier/')) && !publicEntries.has(target)) edges.add(`${file} -> ${target}`)
    }
    expect([...edges].sort()).toEqual([])
  })

  it('errors/ imports nothing, sandbox/ nothing of node/ or verifier/, verifier/ nothing of node/', () => {
    const wrong: string[] = []
    for (const [file, targets] of graph)
      for (const target of targets) {
        if (file.startsWith('errors/') && !target.startsWith('errors/')) wrong.push(`${file} -> ${target}`)
        if (file.startsWith('sandbox/') && (target.startsWith('node/') || target.startsWith('verifier/'))) wrong.push(`${file} -> ${target}`)
        if (file.startsWith('verifier/') && target.startsWith('node/')) wrong.push(`${file} -> ${target}`)
      }
    expect(wrong).toEqual([])
  })

  it('has no import cycles', () => {
    expect(findCycles(graph)).toEqual([])
  })
})

/** Strongly connected components of more than one file (Tarjan), each as its sorted files. */
function findCycles(edges: Map<string, string[]>): string[] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const cycles: string[] = []
  let next = 0
  const visit = (file: string): void => {
    index.set(file, next)
    low.set(file, next)
    next++
    stack.push(file)
    onStack.add(file)
    for (const target of edges.get(file) ?? []) {
      if (!edges.has(target)) continue
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file)!, low.get(target)!))
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file)!, index.get(target)!))
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1) cycles.push(component.sort().join(' '))
  }
  for (const file of edges.keys()) if (!index.has(file)) visit(file)
  return cycles.sort()
}
