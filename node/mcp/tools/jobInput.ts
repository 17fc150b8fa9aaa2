// The input schema shared by execute_code and submit_job (a snippet in a language plus optional
// files, args and limits) and its translation into the client's submit parameters.
import { z } from 'zod'
import { snippetJob, snippetLanguages } from '../../client/snippetJob.ts'
import type { SubmitParameters } from '../../client/sandrunClient.ts'

export const jobInputShape = {
  language: z.string().describe(`Language of the code: ${snippetLanguages.join(', ')} (python3, node, js, Rscript also work).`),
  code: z.string().describe('The program. It runs as main.<ext> in /work, with no network; files it writes under /work become output files.'),
  files: z.record(z.string(), z.string()).optional().describe('Extra UTF-8 text files placed next to the code: relative path -> content, e.g. {"data/input.csv": "a,b\\n1,2"}.'),
  args: z.array(z.string()).optional().describe('Command-line arguments for the program.'),
  timeout: z.number().int().min(1).max(3600).optional().describe('Wall-clock limit in seconds (default 300).'),
  memory_mb: z.number().int().min(16).max(2048).optional().describe('Memory limit in MB (default 512).'),
}

export type JobInput = { language: string; code: string; files?: Record<string, string> | undefined; args?: string[] | undefined; timeout?: number | undefined; memory_mb?: number | undefined }

export function submitParametersOf(input: JobInput, signal?: AbortSignal): SubmitParameters {
  const { files, manifest } = snippetJob({ language: input.language, code: input.code, files: input.files, args: input.args, timeout: input.timeout, memoryMb: input.memory_mb })
  return { files, manifest, signal }
}
