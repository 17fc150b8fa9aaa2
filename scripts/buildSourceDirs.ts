// The source trees a build of dist/ compiles: tsconfig.build.json's include, so the esbuild emit,
// the freshness digest and tsc's declarations agree on what the package is made of.
import { readFileSync } from 'node:fs'
import path from 'node:path'

export function buildSourceDirs(root: string): string[] {
  return (JSON.parse(readFileSync(path.join(root, 'tsconfig.build.json'), 'utf8')) as { include: string[] }).include
}
