// Turns a code snippet in a named language (plus optional extra files) into the files and manifest
// of a job: what "run this code" means for the MCP server and for programs that hold code, not a
// folder. The entry file is main.<ext> so the sandbox's extension detection and error messages agree.
import type { PackFileContent } from '../../sandbox/bundle/index.ts'
import { SandrunClientError } from './clientError.ts'

type LanguageSpec = { interpreter: string; entrypoint: string }

const languages: Record<string, LanguageSpec> = {
  python: { interpreter: 'python3', entrypoint: 'main.py' },
  javascript: { interpreter: 'node', entrypoint: 'main.js' },
  bash: { interpreter: 'bash', entrypoint: 'main.sh' },
  sh: { interpreter: 'sh', entrypoint: 'main.sh' },
  ruby: { interpreter: 'ruby', entrypoint: 'main.rb' },
  r: { interpreter: 'Rscript', entrypoint: 'main.R' },
  perl: { interpreter: 'perl', entrypoint: 'main.pl' },
  php: { interpreter: 'php', entrypoint: 'main.php' },
}

// Names people and models use for the same languages.
const aliases: Record<string, string> = { python3: 'python', py: 'python', node: 'javascript', js: 'javascript', nodejs: 'javascript', shell: 'sh', rscript: 'r', rb: 'ruby', pl: 'perl' }

/** Languages `snippetJob` accepts (aliases such as python3, node, js, Rscript work too). */
export const snippetLanguages = Object.keys(languages)

export type SnippetJobParameters = {
  language: string
  code: string
  /** Extra files next to the code: path -> content. */
  files?: Record<string, PackFileContent> | undefined
  args?: string[] | undefined
  /** Wall-clock limit in seconds. */
  timeout?: number | undefined
  memoryMb?: number | undefined
}

export type SnippetJobReturnType = { files: Record<string, PackFileContent>; manifest: Record<string, unknown> }

export function snippetJob({ language, code, files = {}, args, timeout, memoryMb }: SnippetJobParameters): SnippetJobReturnType {
  const key = language.trim().toLowerCase()
  const spec = languages[aliases[key] ?? key]
  if (!spec) {
    throw new SandrunClientError('REQUEST_INVALID', `Unknown language "${language.slice(0, 40)}"; use one of ${snippetLanguages.join(', ')}.`)
  }
  if (spec.entrypoint in files) {
    throw new SandrunClientError('REQUEST_INVALID', `An extra file is named ${spec.entrypoint}, which is where the code goes; rename that file.`)
  }
  const manifest: Record<string, unknown> = { entrypoint: spec.entrypoint, interpreter: spec.interpreter }
  if (args && args.length > 0) manifest.args = args
  if (timeout !== undefined) manifest.timeout = timeout
  if (memoryMb !== undefined) manifest.memory_mb = memoryMb
  return { files: { [spec.entrypoint]: code, ...files }, manifest }
}
