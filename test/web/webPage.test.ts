// The web page in headless Chromium against a real gateway and sandbox: a python job run through
// the page streams its output live, then shows usage, output downloads, the quota and, when the
// status carries one, the verification panel. Writes test/web/__screenshots__/ui.png.
import { mkdir } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { chromium, type Browser, type Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSandbox, type Sandbox } from '../../sandbox/index.ts'
import { startTestGateway } from '../gateway/testGateway.ts'

const screenshotDir = path.resolve(import.meta.dirname, '__screenshots__')
// A wait that spans a job's run: expect.poll's default second is too short on a loaded CI machine.
const jobRun = { timeout: 30_000 }

let gateway: Awaited<ReturnType<typeof startTestGateway>>
let url: string
let browser: Browser

beforeAll(async () => {
  gateway = await startTestGateway()
  await gateway.app.listen({ port: 0, host: '127.0.0.1' })
  url = `http://127.0.0.1:${(gateway.app.server.address() as AddressInfo).port}`
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  })
})
afterAll(async () => {
  await browser?.close()
  await gateway?.close()
})

async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 1300 } })
  page.setDefaultTimeout(10_000)
  const problems: string[] = []
  page.on('pageerror', (error) => problems.push(error.message))
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text())
  })
  await page.goto(`${url}/`)
  return { page, problems }
}

describe('web page', () => {
  it('GET / gives browsers the page and API clients the JSON description', async () => {
    const html = await fetch(`${url}/`, { headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' } })
    expect(html.headers.get('content-type')).toMatch(/^text\/html/)
    expect(html.headers.get('content-security-policy')).toContain("script-src 'self'")
    expect(await html.text()).toContain('<textarea id="code"')
    const api = (await (await fetch(`${url}/`)).json()) as { service: string; privacy: string }
    expect(api.service).toBe('sandrun')
    expect(api.privacy).toBe(
      "Job data lives in RAM (tmpfs) on this machine: bundle and logs in the server's memory, output files on a tmpfs data directory, never on a disk. It is deleted right after all its outputs are downloaded, 5 minutes after a failure, and 1 hour after submission at the latest, and when the server restarts.",
    )
    expect((await fetch(`${url}/ui`)).headers.get('content-type')).toMatch(/^text\/html/)
  })

  it('runs a python job: live log, usage, outputs with download links, quota; screenshot', async () => {
    const { page, problems } = await openPage()
    await expect.poll(() => page.locator('#language option').allTextContents()).toContain('Python')
    await page.getByLabel('Language').selectOption('python3')
    // Typed as a user would: Tab in the editor indents instead of leaving it.
    const editor = page.getByLabel('Code', { exact: true })
    await editor.fill('')
    await editor.focus()
    await page.keyboard.type('import sys\nfor i in range(3):\n')
    await page.keyboard.press('Tab')
    await page.keyboard.type('print("line", i, sys.argv[1:])\nprint("warn", file=sys.stderr)\nopen("result.txt", "w").write(open("input.txt").read().upper())\n')
    expect(await editor.inputValue()).toContain('\n    print("line", i')
    await page.getByLabel('Arguments').fill('--fast')
    await page.getByLabel('Extra files').setInputFiles({ name: 'input.txt', mimeType: 'text/plain', buffer: Buffer.from('hello sandbox') })
    // The log must come over the live WebSocket, not from the page's polling fallback.
    const frames: string[] = []
    page.on('websocket', (socket) => socket.on('framereceived', (frame) => frames.push(String(frame.payload))))
    await page.getByRole('button', { name: 'Run' }).click()

    const log = page.getByRole('log')
    await expect.poll(() => log.textContent(), jobRun).toContain("line 2 ['--fast']")
    await expect.poll(() => page.locator('#result').isVisible(), jobRun).toBe(true)
    expect(await log.textContent()).toBe("line 0 ['--fast']\nline 1 ['--fast']\nline 2 ['--fast']\nwarn\n")
    // Python writes print()'s pieces separately, so one line may span frames: join the stdout frames.
    const streamed = frames
      .map((f) => JSON.parse(f) as { type: string; stream?: string; data?: string })
      .filter((m) => m.type === 'output' && m.stream === 'stdout')
      .map((m) => m.data)
      .join('')
    expect(streamed).toBe("line 0 ['--fast']\nline 1 ['--fast']\nline 2 ['--fast']\n")
    expect(frames.at(-1)).toMatch(/^\{"type":"end","status":\{/)
    expect((await page.locator('#log .stderr').allTextContents()).join('')).toBe('warn\n')
    const usage = await page.locator('#usage').innerText()
    expect(usage).toMatch(/Status\s+completed/)
    expect(usage).toMatch(/Exit code\s+0 \(exited\)/)
    expect(usage).toMatch(/CPU time\s+\d+\.\d{3} s/)
    expect(usage).toMatch(/Peak memory\s+[\d.]+ (KiB|MiB)/)
    await expect.poll(() => page.locator('#quota').textContent()).toMatch(/of 1000 CPU seconds left this minute/)
    // The page states what this server keeps, as GET / words it for the mode.
    await expect.poll(() => page.locator('#privacy').textContent()).toMatch(/^Job data lives in RAM \(tmpfs\) on this machine: .* never on a disk\./)
    expect(await page.locator('#verification').isHidden()).toBe(true)
    expect(problems).toEqual([])

    await mkdir(screenshotDir, { recursive: true })
    await page.screenshot({ path: path.join(screenshotDir, 'ui.png'), fullPage: true })

    const link = page.getByRole('link', { name: 'result.txt' })
    const [download] = await Promise.all([page.waitForEvent('download'), link.click()])
    const stream = await download.createReadStream()
    const chunks: Buffer[] = []
    for await (const chunk of stream) chunks.push(chunk as Buffer)
    expect(Buffer.concat(chunks).toString()).toBe('HELLO SANDBOX')
    await page.close()
  })

  it('shows refusals in words and a verification panel when the status has one', async () => {
    const { page } = await openPage()
    await page.getByLabel('Extra files').setInputFiles({ name: 'main.py', mimeType: 'text/plain', buffer: Buffer.from('x') })
    await page.getByRole('button', { name: 'Run' }).click()
    await expect.poll(() => page.locator('#error').textContent()).toBe('An extra file is named main.py, which is where the code goes; rename it.')
    await page.getByLabel('Extra files').setInputFiles([])

    await page.route('**/submit', (route) => route.fulfill({ status: 429, json: { error: 'Too Many Requests', reason: 'Concurrent job limit reached (2/2).', retry_after: 5 } }))
    await page.getByRole('button', { name: 'Run' }).click()
    await expect.poll(() => page.locator('#error').textContent()).toBe('Too Many Requests: Concurrent job limit reached (2/2). Try again in 5 s.')
    await page.unroute('**/submit')

    // A market gateway adds `verification` to the status; the page must show it as it comes.
    await page.route('**/status/**', async (route) => {
      const response = await route.fetch()
      const body = (await response.json()) as Record<string, unknown>
      body.verification = { state: 'finalized', result_verified: true, result_root: '0xfeed', replicas: 3, quorum: 2, committed: 3, revealed: 3, agreeing: ['0xa1', '0xa2'], dissenting: ['0xd1'], slashed: ['0xd1'], chain_id: 31337, market: '0xmarket', job_id: '7', tx_hashes: { post: '0xpost', commits: [], reveals: [], finalize: '0xfin' } }
      await route.fulfill({ response, json: body })
    })
    await page.getByRole('button', { name: 'Run' }).click()
    const panel = page.getByRole('region', { name: 'Verification' })
    await expect.poll(() => panel.isVisible()).toBe(true)
    const text = await panel.innerText()
    expect(text).toMatch(/Agreeing workers\s+0xa1, 0xa2/)
    expect(text).toMatch(/Slashed workers\s+0xd1/)
    expect(text).toMatch(/Chain id\s+31337/)
    expect(text).toMatch(/Result checked against chain\s+yes/)
    await page.close()
  })

  it('pauses Run while the quota says no, with the reason and the wait, and runs again after it', async () => {
    const { page } = await openPage()
    await expect.poll(() => page.locator('#privacy').textContent()).toMatch(/^Job data lives in RAM \(tmpfs\) on this machine/)
    let paused = true
    await page.route('**/stats', async (route) => {
      if (!paused) return route.fallback()
      const response = await route.fetch()
      const body = (await response.json()) as { your_quota: Record<string, unknown> }
      body.your_quota = { ...body.your_quota, can_submit: false, reason: 'Hourly job limit reached (20 jobs per hour).', retry_after: 2 }
      await route.fulfill({ response, json: body })
    })
    await page.reload()
    await expect.poll(() => page.locator('#paused').textContent()).toBe('Run is paused: Hourly job limit reached (20 jobs per hour). Try again in 2 s.')
    expect(await page.getByRole('button', { name: 'Run' }).isDisabled()).toBe(true)
    paused = false
    await expect.poll(() => page.getByRole('button', { name: 'Run' }).isEnabled(), { timeout: 10_000 }).toBe(true)
    expect(await page.locator('#paused').isHidden()).toBe(true)
    await page.close()
  })

  it('shows "—" for usage nobody measured, who reported it, and that output was cut', async () => {
    const { page } = await openPage()
    await page.route('**/status/**', async (route) => {
      const response = await route.fetch()
      const body = (await response.json()) as { execution_metadata: Record<string, unknown> | null }
      if (body.execution_metadata) body.execution_metadata = { ...body.execution_metadata, cpu_seconds: null, memory_peak_bytes: null, wall_time_ms: 812, reported_by: 'workers', reports: 3, stdout_truncated: true }
      await route.fulfill({ response, json: body })
    })
    await page.getByRole('button', { name: 'Run' }).click()
    await expect.poll(() => page.locator('#result').isVisible(), jobRun).toBe(true)
    const usage = await page.locator('#usage').innerText()
    expect(usage).toMatch(/CPU time\s+—/)
    expect(usage).toMatch(/Peak memory\s+—/)
    expect(usage).toMatch(/Wall time\s+812 ms/)
    expect(usage).toMatch(/Usage reported by\s+the 3 workers \(median of their signed reports/)
    expect(usage).toMatch(/Output cut\s+stdout reached the cap per stream/)
    await page.close()
  })

  it('after each file was downloaded, "Download all" says the job is gone instead of failing', async () => {
    const { page } = await openPage()
    await page.getByLabel('Code', { exact: true }).fill('open("a.txt", "w").write("a")\nopen("b.txt", "w").write("b")\n')
    await page.getByRole('button', { name: 'Run' }).click()
    await expect.poll(() => page.locator('#result').isVisible(), jobRun).toBe(true)
    for (const name of ['a.txt', 'b.txt']) await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name }).click()])
    await expect.poll(() => page.locator('#download-all').textContent()).toBe('Every file was downloaded, so the gateway deleted the job; "Download all" is no longer available.')
    await page.close()
  })
})

describe('web page with a small output cap', () => {
  let small: Awaited<ReturnType<typeof startTestGateway>>
  let sandbox: Sandbox
  beforeAll(async () => {
    sandbox = await createSandbox({ limits: { outputCaptureBytes: 1024 }, warmSandboxes: 0 })
    small = await startTestGateway({ sandbox })
    await small.app.listen({ port: 0, host: '127.0.0.1' })
  })
  afterAll(async () => {
    await small?.close()
    await sandbox?.close()
  })

  it('notes in the log where a stream reached the cap', async () => {
    const page = await browser.newPage()
    page.setDefaultTimeout(10_000)
    await page.goto(`http://127.0.0.1:${(small.app.server.address() as AddressInfo).port}/`)
    await page.getByLabel('Code', { exact: true }).fill('for i in range(200):\n    print("line %03d %s" % (i, "x" * 40))\n')
    await page.getByRole('button', { name: 'Run' }).click()
    await expect.poll(() => page.locator('#result').isVisible(), jobRun).toBe(true)
    const log = (await page.getByRole('log').textContent()) ?? ''
    expect(log.startsWith('line 000 ')).toBe(true)
    expect(log).toContain('[sandrun] stdout reached the 1.0 KiB cap; the rest of it is not kept.')
    await page.close()
  })
})
