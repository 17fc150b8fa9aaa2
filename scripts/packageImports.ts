// What one emitted JavaScript file imports from packages, read from esbuild's normalized output
// (double-quoted specifiers, one statement per line, no comments), for scripts/vendorDependencies.ts:
// each bare specifier with the names taken from it, and a way to point those specifiers elsewhere.
// A namespace import, `export * from` or a dynamic import whose names are not destructured on the
// spot takes everything (`all`).

export interface PackageImport {
  specifier: string
  names: string[]
  all: boolean
}

// `import a, { b as c } from "x";`, `import * as ns from "x";`, `export { a } from "x";`,
// `export * from "x";`, `import "x";`: a statement at the start of a line (esbuild's output puts
// each on its own line; a multi-line brace list has no `;` or quote before its `from`).
const staticStatement = /^(import|export)\s*(?:([^;"']*?)\s*from\s*)?"([^"]+)";?$/gm
const dynamicImport = /\bimport\(\s*"([^"]+)"\s*\)/g
// `const { a, b: c } = await import("x")`: the names a dynamic import needs, when it says them.
const destructuredDynamicImport = /\b(?:const|let|var)\s*\{([^}]*)\}\s*=\s*await\s+import\(\s*"([^"]+)"\s*\)/g
const bare = (specifier: string): boolean => !/^(?:\.{0,2}\/|node:|data:|file:)/.test(specifier)

export function packageImports(code: string): { imports: PackageImport[]; rewrite: (to: (specifier: string) => string | undefined) => string } {
  const found: PackageImport[] = []
  for (const [, keyword, clause, specifier] of code.matchAll(staticStatement)) {
    if (specifier !== undefined && bare(specifier)) found.push({ specifier, ...clauseNames(keyword as 'import' | 'export', clause?.trim()) })
  }
  const destructured = new Map<number, string[]>()
  for (const match of code.matchAll(destructuredDynamicImport)) {
    const names = (match[1] ?? '').split(',').flatMap((part) => {
      const name = part.split(/[:=]/)[0]?.trim()
      return name ? [name] : []
    })
    destructured.set(match.index + match[0].lastIndexOf('import('), names)
  }
  for (const match of code.matchAll(dynamicImport)) {
    const specifier = match[1]
    if (specifier === undefined || !bare(specifier)) continue
    const names = destructured.get(match.index)
    found.push({ specifier, names: names ?? [], all: names === undefined })
  }
  const rewrite = (to: (specifier: string) => string | undefined): string => {
    const replace = (whole: string, specifier: string): string => {
      const target = bare(specifier) ? to(specifier) : undefined
      return target === undefined ? whole : whole.replace(`"${specifier}"`, JSON.stringify(target))
    }
    return code
      .replace(staticStatement, (whole, _keyword, _clause, specifier: string) => replace(whole, specifier))
      .replace(dynamicImport, (whole, specifier: string) => replace(whole, specifier))
  }
  return { imports: found, rewrite }
}

// The clause between `import`/`export` and `from`: `a`, `* as ns`, `{ a, b as c }`, `a, { b }`,
// `*` (export only), or nothing (a bare `import "x"`, which needs only the module's evaluation).
function clauseNames(keyword: 'import' | 'export', clause: string | undefined): { names: string[]; all: boolean } {
  if (clause === undefined || clause === '') return { names: [], all: false }
  const names: string[] = []
  let all = false
  const braces = clause.match(/\{([^}]*)\}/)
  for (const part of (braces?.[1] ?? '').split(',')) {
    const name = part.trim().split(/\s+as\s+/)[0]?.trim()
    if (name) names.push(name.replace(/^"(.*)"$/, '$1'))
  }
  const outside = clause.replace(/\{[^}]*\}/, '').trim()
  for (const part of outside.split(',').map((piece) => piece.trim())) {
    if (part === '') continue
    if (part.startsWith('*')) all = true
    else if (keyword === 'import') names.push('default')
  }
  return { names, all }
}
