import { describe, expect, it } from 'vitest'
import { SandboxError, type SandboxErrorCode } from './errors.ts'
import { parseManifest } from './manifest.ts'
import { manifestFieldNames, manifestJsonSchema, type ParseManifestOptions } from './manifestSchema.ts'

function refusal(input: unknown, options?: ParseManifestOptions): SandboxError {
  try {
    parseManifest(input, options)
  } catch (error) {
    expect(error).toBeInstanceOf(SandboxError)
    return error as SandboxError
  }
  throw new Error(`parseManifest accepted ${JSON.stringify(input)}`)
}

function expectRefused(input: unknown, code: SandboxErrorCode, message: RegExp, options?: ParseManifestOptions) {
  const error = refusal(input, options)
  expect(error.code).toBe(code)
  expect(error.message).toMatch(message)
}

describe('parseManifest defaults', () => {
  it('fills every default from just an entrypoint', () => {
    expect(parseManifest({ entrypoint: 'main.py' })).toEqual({
      entrypoint: 'main.py',
      interpreter: 'python3',
      environment: 'default',
      args: [],
      env: {},
      outputs: [],
      requirements: null,
      timeout: 300,
      memory_mb: 512,
      cpu_seconds: 60,
      gpu: null,
      replicas: 3,
      quorum: null,
      reward_wei: null,
    })
  })

  it('treats null like an absent optional field', () => {
    const manifest = parseManifest({ entrypoint: 'main.py', timeout: null, args: null, gpu: null, interpreter: null })
    expect(manifest).toMatchObject({ timeout: 300, args: [], gpu: null, interpreter: 'python3' })
  })

  it('keeps given values and normalizes paths', () => {
    const given = {
      entrypoint: './src//main.js',
      environment: 'ml-1.0',
      args: ['--n', '3'],
      env: { B: '2', A: '1' },
      outputs: ['./results/*.csv', 'plot.png'],
      requirements: 'requirements.txt',
      timeout: 3600,
      memory_mb: 16,
      cpu_seconds: 1,
      gpu: { required: true, min_vram_gb: 8, cuda_version: '12.2', compute_capability: '8.0' },
      replicas: 5,
      quorum: 4,
      reward_wei: '1000000000000000000',
    }
    const manifest = parseManifest(given)
    expect(manifest).toEqual({
      ...given,
      entrypoint: 'src/main.js',
      interpreter: 'node',
      outputs: ['results/*.csv', 'plot.png'],
    })
    expect(Object.keys(manifest.env)).toEqual(['A', 'B'])
  })

  it('applies operator limits, lowering defaults that exceed them', () => {
    const options = { limits: { maxTimeout: 60, maxReplicas: 1 } }
    expect(parseManifest({ entrypoint: 'a.py' }, options)).toMatchObject({ timeout: 60, replicas: 1 })
    expectRefused({ entrypoint: 'a.py', timeout: 61 }, 'MANIFEST_INVALID', /"timeout" must be from 1 to 60/, options)
  })
})

describe('parseManifest shape', () => {
  it.each([null, [], 'main.py', 42])('refuses a manifest that is not an object: %j', (input) => {
    expectRefused(input, 'MANIFEST_INVALID', /must be a JSON object/)
  })

  it('refuses a missing entrypoint', () => {
    expectRefused({ timeout: 10 }, 'MANIFEST_INVALID', /"entrypoint" is required/)
  })

  it('refuses an unknown field, naming it and the allowed ones', () => {
    const error = refusal({ entrypoint: 'main.py', timout: 10 })
    expect(error.code).toBe('MANIFEST_INVALID')
    expect(error.shortMessage).toContain('"timout"')
    for (const name of manifestFieldNames) expect(error.details).toContain(name)
  })

  it('refuses a __proto__ key instead of ignoring it', () => {
    expectRefused(JSON.parse('{"entrypoint":"a.py","__proto__":{"timeout":1}}'), 'MANIFEST_INVALID', /"__proto__"/)
  })
})

describe('parseManifest types', () => {
  it.each([
    ['entrypoint', 7, /"entrypoint" must be a string/],
    ['interpreter', 3, /"interpreter" must be one of python3, node/],
    ['environment', ['x'], /"environment" must be a string.*got an array/],
    ['args', 'a b', /"args" must be an array of strings/],
    ['args', ['ok', 1], /"args\[1\]" must be a string; got number 1/],
    ['env', ['A=1'], /"env" must be an object/],
    ['env', { A: 1 }, /"env.A" must be a string/],
    ['outputs', '*.csv', /"outputs" must be an array of glob patterns/],
    ['outputs', [true], /"outputs\[0\]" must be a string/],
    ['requirements', { file: 'r.txt' }, /"requirements" must be a string/],
    ['timeout', '10', /"timeout" must be an integer from 1 to 3600 \(seconds\); got the string "10"/],
    ['timeout', 1.5, /"timeout" must be an integer/],
    ['memory_mb', '512', /"memory_mb" must be an integer from 16 to 2048/],
    ['cpu_seconds', true, /"cpu_seconds" must be an integer from 1 to 3600/],
    ['gpu', true, /"gpu" must be an object/],
    ['gpu', {}, /"gpu.required" must be a boolean/],
    ['gpu', { required: true, min_vram_gb: '8' }, /"gpu.min_vram_gb" must be a number/],
    ['gpu', { required: true, cuda_version: 12 }, /"gpu.cuda_version" must be a version string/],
    ['gpu', { required: true, compute_capability: 'sm_80' }, /"gpu.compute_capability" must be a string like "8.0"/],
    ['replicas', '3', /"replicas" must be an integer from 1 to 16/],
    ['quorum', '2', /"quorum" must be an integer/],
    ['reward_wei', 1000, /"reward_wei" must be a decimal string/],
    ['reward_wei', '1e18', /"reward_wei" must be a decimal string/],
  ])('refuses %s = %j', (field, value, message) => {
    expectRefused({ entrypoint: 'main.py', [field]: value }, 'MANIFEST_INVALID', message)
  })

  it('refuses an unknown field inside gpu', () => {
    expectRefused({ entrypoint: 'a.py', gpu: { required: true, vram: 8 } }, 'MANIFEST_INVALID', /"vram" in "gpu"/)
  })
})

describe('parseManifest ranges', () => {
  it.each([
    ['timeout', 0, /from 1 to 3600/],
    ['timeout', 3601, /from 1 to 3600/],
    ['memory_mb', 15, /from 16 to 2048/],
    ['memory_mb', 2049, /from 16 to 2048/],
    ['cpu_seconds', 0, /from 1 to 3600/],
    ['cpu_seconds', 3601, /from 1 to 3600/],
    ['replicas', 0, /from 1 to 16/],
    ['replicas', 17, /from 1 to 16/],
    ['args', Array(257).fill('x'), /257 items; at most 256/],
    ['args', ['x'.repeat(4097)], /4097 characters long; at most 4096/],
    ['reward_wei', (1n << 256n).toString(), /exceeds 2\^256 - 1/],
  ])('refuses %s out of range', (field, value, message) => {
    expectRefused({ entrypoint: 'main.py', [field]: value }, 'MANIFEST_INVALID', message)
  })

  it('allows a quorum from a majority to all replicas', () => {
    expect(parseManifest({ entrypoint: 'a.py', replicas: 4, quorum: 3 }).quorum).toBe(3)
    expect(parseManifest({ entrypoint: 'a.py', replicas: 4, quorum: 4 }).quorum).toBe(4)
    expectRefused({ entrypoint: 'a.py', replicas: 4, quorum: 2 }, 'MANIFEST_INVALID', /from 3 \(a majority of 4 replicas\) to 4/)
    expectRefused({ entrypoint: 'a.py', replicas: 4, quorum: 5 }, 'MANIFEST_INVALID', /from 3 .* to 4/)
  })
})

describe('parseManifest paths', () => {
  it.each([
    ['/etc/passwd', /relative to the bundle root/],
    ['../main.py', /may not contain "\.\."/],
    ['src/../../x.py', /may not contain "\.\."/],
    ['a\0.py', /NUL/],
    ['', /1 to 255 characters/],
    [`${'a'.repeat(253)}.py`, /1 to 255 characters/],
    ['./', /must name a file/],
  ])('refuses entrypoint %j', (entrypoint, message) => {
    expectRefused({ entrypoint, interpreter: 'python3' }, 'MANIFEST_INVALID', message)
  })

  it('applies the same rules to requirements', () => {
    expectRefused({ entrypoint: 'a.py', requirements: '../req.txt' }, 'MANIFEST_INVALID', /"requirements" may not contain/)
  })

  it.each([
    ['/work/*.csv', /must be relative to \/work/],
    ['../*.csv', /may not contain "\.\."/],
    ['a/../../b', /may not contain "\.\."/],
  ])('refuses output pattern %j', (pattern, message) => {
    expectRefused({ entrypoint: 'a.py', outputs: [pattern] }, 'MANIFEST_INVALID', message)
  })
})

describe('parseManifest interpreter', () => {
  it.each([
    ['main.py', 'python3'],
    ['app.js', 'node'],
    ['app.mjs', 'node'],
    ['app.cjs', 'node'],
    ['run.sh', 'bash'],
    ['script.rb', 'ruby'],
    ['analysis.R', 'Rscript'],
    ['analysis.r', 'Rscript'],
    ['tool.pl', 'perl'],
    ['page.php', 'php'],
    ['dir.v2/main.py', 'python3'],
  ])('detects %s as %s', (entrypoint, interpreter) => {
    expect(parseManifest({ entrypoint }).interpreter).toBe(interpreter)
  })

  it('lets an explicit interpreter win over the extension', () => {
    expect(parseManifest({ entrypoint: 'run.sh', interpreter: 'sh' }).interpreter).toBe('sh')
    expect(parseManifest({ entrypoint: 'main.py', interpreter: 'node' }).interpreter).toBe('node')
    expect(parseManifest({ entrypoint: 'Makefile', interpreter: 'bash' }).interpreter).toBe('bash')
  })

  it.each(['main', 'main.exe', '.py', 'dir.py/run'])('refuses to guess for %s, listing what is supported', (entrypoint) => {
    const error = refusal({ entrypoint })
    expect(error.code).toBe('INTERPRETER_UNKNOWN')
    expect(error.details).toMatch(/python3, node, bash, sh, ruby, Rscript, perl, php/)
  })

  it('refuses an interpreter it does not support', () => {
    expectRefused({ entrypoint: 'a.py', interpreter: 'python2' }, 'INTERPRETER_UNKNOWN', /"python2".*Supported interpreters: python3/s)
  })
})

describe('parseManifest env', () => {
  it.each([
    'LD_PRELOAD',
    'LD_LIBRARY_PATH',
    'PATH',
    'HOME',
    'TZ',
    'LANG',
    'LC_ALL',
    'LC_CTYPE',
    'SOURCE_DATE_EPOCH',
    'PYTHONHASHSEED',
    'PYTHONPATH',
    'NODE_OPTIONS',
    'PERL5LIB',
    'RUBYOPT',
    'GCONV_PATH',
    'GLIBC_TUNABLES',
    'BASH_ENV',
    'BASH_FUNC_ls',
    'IFS',
  ])('refuses %s with ENV_FORBIDDEN', (name) => {
    expectRefused({ entrypoint: 'a.py', env: { [name]: 'x' } }, 'ENV_FORBIDDEN', new RegExp(`${name} may not be set`))
  })

  it('allows ordinary names, including ones that merely look similar', () => {
    const env = { MY_PATH: '/work/x', DEBUG: '1', _private: 'y', PATHS: 'a:b' }
    expect(parseManifest({ entrypoint: 'a.py', env }).env).toEqual(env)
  })

  it.each(['1ABC', 'A-B', 'A B', '', 'BASH_FUNC_ls%%'])('refuses the malformed name %j', (name) => {
    expectRefused({ entrypoint: 'a.py', env: { [name]: 'x' } }, 'MANIFEST_INVALID', /name .* is invalid/)
  })

  it('refuses a value with a NUL character', () => {
    expectRefused({ entrypoint: 'a.py', env: { A: 'a\0b' } }, 'MANIFEST_INVALID', /env.A contains a NUL/)
  })
})

describe('manifestJsonSchema', () => {
  it('describes every field with the configured limits', () => {
    const schema = manifestJsonSchema({ limits: { maxTimeout: 120 } }) as {
      properties: Record<string, { maximum?: number; default?: number }>
      additionalProperties: boolean
    }
    expect(Object.keys(schema.properties).sort()).toEqual([...manifestFieldNames].sort())
    expect(schema.additionalProperties).toBe(false)
    expect(schema.properties.timeout).toMatchObject({ maximum: 120, default: 120 })
  })
})

describe('manifest schema and validator agree', () => {
  const schema = manifestJsonSchema() as unknown as {
    properties: Record<string, { type?: string[]; minimum?: number; maximum?: number; default?: unknown; properties?: Record<string, { maximum?: number }> }>
  }
  const integers = Object.entries(schema.properties).filter(([name, field]) => field.type?.includes('integer') && name !== 'quorum')

  it.each(integers)('%s: the schema range is what parseManifest accepts, its default what it fills in', (name, field) => {
    const base = { entrypoint: 'a.py', replicas: 1 }
    expect(parseManifest({ ...base, [name]: field.minimum })[name as 'timeout']).toBe(field.minimum)
    expect(parseManifest({ ...base, [name]: field.maximum })[name as 'timeout']).toBe(field.maximum)
    expectRefused({ ...base, [name]: field.minimum! - 1 }, 'MANIFEST_INVALID', new RegExp(`"${name}" must be from`))
    expectRefused({ ...base, [name]: field.maximum! + 1 }, 'MANIFEST_INVALID', new RegExp(`"${name}" must be from`))
    if (name !== 'replicas') expect(parseManifest(base)[name as 'timeout']).toBe(field.default)
  })

  it('caps gpu.min_vram_gb in both', () => {
    const max = schema.properties.gpu!.properties!.min_vram_gb!.maximum!
    expect(max).toBe(4096)
    expect(parseManifest({ entrypoint: 'a.py', gpu: { required: true, min_vram_gb: max } }).gpu?.min_vram_gb).toBe(max)
    expectRefused({ entrypoint: 'a.py', gpu: { required: true, min_vram_gb: max + 1 } }, 'MANIFEST_INVALID', /at most 4096/)
  })

  it('documents that every optional field may be null, as parseManifest accepts', () => {
    for (const [name, field] of Object.entries(schema.properties)) {
      if (name === 'entrypoint') continue
      const allowsNull = field.type?.includes('null') || (field as { enum?: unknown[] }).enum?.includes(null)
      expect(allowsNull, name).toBe(true)
      expect(parseManifest({ entrypoint: 'a.py', [name]: null })).toEqual(parseManifest({ entrypoint: 'a.py' }))
    }
  })
})
