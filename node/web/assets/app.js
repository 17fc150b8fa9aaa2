// The Sandrun web page: edit code, pick a language, add files, run; the output streams in over the
// WebSocket, then usage, output downloads and (market mode) the verification appear. Plain DOM,
// no framework, everything from this gateway.
import { tarGz } from './tarGz.js'

const $ = (id) => document.getElementById(id)
const form = $('job')
const code = $('code')
const language = $('language')
const log = $('log')
const state = $('state')
const errorBox = $('error')
const runButton = $('run')
// A job of this page is in flight; the quota may pause submissions on its own.
let busy = false
let quotaTimer = null

// Entry file per interpreter; the gateway detects nothing here since `interpreter` is sent.
const languages = [
  { interpreter: 'python3', label: 'Python', file: 'main.py' },
  { interpreter: 'node', label: 'JavaScript (Node.js)', file: 'main.js' },
  { interpreter: 'bash', label: 'Bash', file: 'main.sh' },
  { interpreter: 'sh', label: 'POSIX sh', file: 'main.sh' },
  { interpreter: 'ruby', label: 'Ruby', file: 'main.rb' },
  { interpreter: 'Rscript', label: 'R', file: 'main.R' },
  { interpreter: 'perl', label: 'Perl', file: 'main.pl' },
  { interpreter: 'php', label: 'PHP', file: 'main.php' },
]

async function getJson(path, init) {
  const response = await fetch(path, init)
  const body = await response.json().catch(() => ({}))
  if (!response.ok) {
    const message = `${body.error ?? `HTTP ${response.status}`}${body.reason ? `: ${body.reason}` : ''}${body.details ? ` (${body.details})` : ''}`
    const retry = body.retry_after ? ` Try again in ${body.retry_after} s.` : ''
    throw new Error(`${message}${/[.!?]$/.test(message) ? '' : '.'}${retry}`)
  }
  return body
}

function showError(message) {
  errorBox.textContent = message
  errorBox.hidden = !message
}

/** A usage figure, or "—" where nobody measured it (never a made-up 0). */
function figure(value, format) {
  return value === null || value === undefined ? '—' : format(value)
}

function formatBytes(n) {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

function fillList(dl, rows) {
  dl.replaceChildren()
  for (const [term, value] of rows) {
    if (value === undefined || value === null || value === '') continue
    const dt = document.createElement('dt')
    dt.textContent = term
    const dd = document.createElement('dd')
    dd.textContent = String(value)
    dl.append(dt, dd)
  }
}

async function loadLanguages() {
  let available = null
  try {
    const environments = await getJson('/environments')
    available = new Set(environments.interpreters.filter((i) => i.version !== null).map((i) => i.name))
  } catch {
    // Offer every language; the gateway refuses the ones it lacks with a clear message.
  }
  language.replaceChildren()
  for (const spec of languages) {
    if (available && !available.has(spec.interpreter)) continue
    const option = new Option(spec.label, spec.interpreter)
    option.dataset.file = spec.file
    language.append(option)
  }
}

/** Shows the quota; while it says no, Run is disabled with the reason and the wait, then checked again. */
async function loadQuota() {
  clearTimeout(quotaTimer)
  try {
    const { your_quota: q } = await getJson('/stats')
    const wait = q.retry_after ?? 0
    $('quota').textContent = `${q.available.toFixed(1)} of ${q.limit} CPU seconds left this minute; ${q.active_jobs} job(s) of yours queued or running.${q.can_submit ? '' : ` Submissions paused: ${q.reason}`}`
    $('paused').textContent = q.can_submit ? '' : `Run is paused: ${q.reason}${wait ? ` Try again in ${wait} s.` : ''}`
    $('paused').hidden = q.can_submit
    runButton.disabled = busy || !q.can_submit
    if (!q.can_submit) quotaTimer = setTimeout(loadQuota, Math.max(1, wait) * 1000)
  } catch (error) {
    $('quota').textContent = `Unavailable (${error.message})`
    runButton.disabled = busy
  }
}

async function loadPrivacy() {
  try {
    $('privacy').textContent = (await getJson('/')).privacy
  } catch {
    // The line is informative; the API reference link stays.
  }
}

async function loadMode() {
  try {
    const health = await getJson('/health')
    const badge = $('mode')
    badge.textContent = health.mode === 'market' ? 'market mode: results agreed on chain by staked workers' : `${health.mode} mode`
    badge.hidden = false
  } catch {
    // The badge is a nicety; the page works without it.
  }
}

/** A line of the page's own, in the log, where output was cut or lost. */
function appendNote(text) {
  appendLog('note', `[sandrun] ${text}\n`)
}

function appendLog(stream, text) {
  const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4
  const span = document.createElement('span')
  span.className = stream
  span.textContent = text
  log.append(span)
  if (atBottom) log.scrollTop = log.scrollHeight
}

function showResult(jobId, status) {
  const meta = status.execution_metadata
  const cut = meta ? ['stdout', 'stderr'].filter((s) => meta[`${s}_truncated`]) : []
  fillList($('usage'), [
    ['Status', status.status],
    ['Exit code', meta ? `${meta.exit_code ?? 'none'} (${meta.termination})` : undefined],
    ['CPU time', meta ? figure(meta.cpu_seconds, (n) => `${n.toFixed(3)} s`) : undefined],
    ['Peak memory', meta ? figure(meta.memory_peak_bytes, formatBytes) : undefined],
    ['Wall time', meta ? figure(meta.wall_time_ms, (n) => `${Math.round(n)} ms`) : undefined],
    ['Usage reported by', meta?.reported_by === 'workers' ? (meta.reports ? `the ${meta.reports} workers (median of their signed reports; not part of the verified result)` : 'no worker reported it') : undefined],
    ['Output cut', cut.length ? `${cut.join(' and ')} reached the cap per stream; the rest was not kept` : undefined],
    ['Error', status.error],
    ['Result root', status.job_hash],
    ['Job', jobId],
    ['Deleted at the latest', new Date(status.expires_at).toLocaleString()],
  ])
  const outputs = Object.values(status.output_files ?? {})
  const tbody = $('outputs').querySelector('tbody')
  tbody.replaceChildren()
  for (const file of outputs) {
    const row = tbody.insertRow()
    const link = document.createElement('a')
    link.href = `/download/${encodeURIComponent(jobId)}/${file.path.split('/').map(encodeURIComponent).join('/')}`
    link.download = file.path.split('/').pop()
    link.textContent = file.path
    row.insertCell().append(link)
    row.insertCell().textContent = formatBytes(file.size_bytes)
    const hash = row.insertCell()
    hash.className = 'hash'
    hash.textContent = file.sha256_hash
  }
  $('outputs').hidden = outputs.length === 0
  $('no-outputs').hidden = outputs.length > 0
  const all = $('download-all')
  all.replaceChildren()
  if (outputs.length > 1) {
    const button = document.createElement('button')
    button.type = 'button'
    button.textContent = 'Download all as outputs.tar.gz'
    button.addEventListener('click', () => downloadAll(jobId))
    all.append(button)
  }
  all.hidden = outputs.length <= 1
  // The gateway deletes a job once every file was downloaded: then "Download all" has nothing left.
  const fetched = new Set()
  for (const link of tbody.querySelectorAll('a')) {
    link.addEventListener('click', () => {
      fetched.add(link.textContent)
      if (outputs.length > 1 && fetched.size === outputs.length) all.replaceChildren('Every file was downloaded, so the gateway deleted the job; "Download all" is no longer available.')
    })
  }
  $('result').hidden = false
  showVerification(status.verification)
}

/** Fetches the archive first, so a refusal (the job is gone) is shown in words, not as a browser error page. */
async function downloadAll(jobId) {
  showError('')
  try {
    const response = await fetch(`/download/${encodeURIComponent(jobId)}`)
    if (!response.ok) {
      const body = await response.json().catch(() => ({}))
      throw new Error(`${body.error ?? `HTTP ${response.status}`}${body.details ? ` (${body.details})` : ''}`)
    }
    const url = URL.createObjectURL(await response.blob())
    const link = document.createElement('a')
    link.href = url
    link.download = 'outputs.tar.gz'
    link.click()
    setTimeout(() => URL.revokeObjectURL(url), 60_000)
  } catch (error) {
    showError(`Download all failed: ${error.message}`)
  }
}

function showVerification(v) {
  const panel = $('verification')
  if (!v) {
    panel.hidden = true
    return
  }
  const list = (workers) => (Array.isArray(workers) ? (workers.length ? workers.join(', ') : 'none') : undefined)
  const tx = v.tx_hashes ?? {}
  fillList(panel.querySelector('dl'), [
    ['State', v.state],
    ['Result checked against chain', v.result_verified === undefined ? undefined : v.result_verified ? 'yes, every byte' : 'not yet'],
    ['Result root', v.result_root],
    ['Replicas / quorum', v.replicas !== undefined ? `${v.replicas} / ${v.quorum ?? '?'}` : undefined],
    ['Committed / revealed', v.committed !== undefined ? `${v.committed} / ${v.revealed ?? '?'}` : undefined],
    ['Agreeing workers', list(v.agreeing)],
    ['Dissenting workers', list(v.dissenting)],
    ['Slashed workers', list(v.slashed)],
    ['Chain id', v.chain_id],
    ['Market contract', v.market],
    ['On-chain job id', v.job_id],
    ['Post tx', tx.post],
    ['Finalize tx', tx.finalize],
  ])
  panel.hidden = false
}

/** Streams the job's output; resolves with the final status (from the stream, else by polling). */
function streamLogs(jobId) {
  return new Promise((resolve) => {
    const url = new URL(`/logs/${encodeURIComponent(jobId)}/stream`, location.href)
    url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:'
    const socket = new WebSocket(url)
    let final = null
    socket.onmessage = (event) => {
      const message = JSON.parse(event.data)
      if (message.type === 'output') appendLog(message.stream, message.data)
      else if (message.type === 'truncated') appendNote(`${message.stream} reached the ${formatBytes(message.cap_bytes)} cap; the rest of it is not kept.`)
      else if (message.type === 'gap') appendNote(`${formatBytes(message.dropped_bytes)} of output were lost on the way here; the next line may start mid-way.`)
      else if (message.type === 'end') final = message.status
    }
    socket.onclose = async () => {
      if (final) return resolve(final)
      // The stream broke (proxy, slow viewer): fall back to long polling and the stored logs.
      let status = await getJson(`/status/${encodeURIComponent(jobId)}`)
      while (status.status === 'queued' || status.status === 'running') status = await getJson(`/status/${encodeURIComponent(jobId)}?wait=30`)
      const logs = await getJson(`/logs/${encodeURIComponent(jobId)}`)
      log.replaceChildren()
      appendLog('stdout', logs.stdout)
      appendLog('stderr', logs.stderr)
      for (const stream of ['stdout', 'stderr']) if (logs[`${stream}_truncated`]) appendNote(`${stream} reached the cap per stream; the rest of it is not kept.`)
      resolve(status)
    }
  })
}

async function run(event) {
  event.preventDefault()
  if (runButton.disabled) return
  showError('')
  busy = true
  runButton.disabled = true
  log.replaceChildren()
  $('result').hidden = true
  $('verification').hidden = true
  try {
    const entry = language.selectedOptions[0]?.dataset.file ?? 'main.py'
    const files = [{ path: entry, content: new TextEncoder().encode(code.value) }]
    for (const file of $('files').files) {
      if (file.name === entry) throw new Error(`An extra file is named ${entry}, which is where the code goes; rename it.`)
      files.push({ path: file.name, content: new Uint8Array(await file.arrayBuffer()) })
    }
    const manifest = { entrypoint: entry, interpreter: language.value }
    const args = $('args').value.trim()
    if (args) manifest.args = args.split(/\s+/)
    if ($('timeout').value) manifest.timeout = Number($('timeout').value)
    state.textContent = 'Uploading…'
    const body = new FormData()
    body.append('files', await tarGz(files), 'job.tar.gz')
    body.append('manifest', JSON.stringify(manifest))
    const accepted = await getJson('/submit', { method: 'POST', body })
    state.textContent = `Job ${accepted.job_id} ${accepted.status}${accepted.position > 1 ? `, position ${accepted.position}` : ''}…`
    await streamLogs(accepted.job_id)
    // The stream's last message has the final status; /status may add what came after (verification).
    const status = await getJson(`/status/${encodeURIComponent(accepted.job_id)}`)
    showResult(accepted.job_id, status)
    state.textContent = `Job ${status.status}.`
  } catch (error) {
    state.textContent = ''
    showError(error.message)
  } finally {
    busy = false
    runButton.disabled = false
    loadQuota()
  }
}

// Tab indents instead of leaving the editor; Esc hands Tab back to the browser for the next press,
// so keyboard users are never trapped.
let tabLeaves = false
code.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') {
    tabLeaves = true
    return
  }
  if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
    event.preventDefault()
    form.requestSubmit()
    return
  }
  if (event.key !== 'Tab' || tabLeaves || event.shiftKey) {
    tabLeaves = false
    return
  }
  event.preventDefault()
  const { selectionStart: start, selectionEnd: end, value } = code
  code.value = `${value.slice(0, start)}    ${value.slice(end)}`
  code.selectionStart = code.selectionEnd = start + 4
})
code.addEventListener('blur', () => (tabLeaves = false))

form.addEventListener('submit', run)
loadLanguages()
loadQuota()
loadMode()
loadPrivacy()
