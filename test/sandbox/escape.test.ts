// The sandbox escape suite: each test runs one attack as a real job and asserts, from what the
// program reports and what the host can observe, that it stayed contained. Runs as root against
// the real bwrap + seccomp + cgroup sandbox (each job runs as a host uid of its own, from a small
// block this file reserves, so host processes of those very uids can stand by as sentinels).
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { hostname } from 'node:os'
import { once } from 'node:events'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { probeInt80 } from '../host/probeInt80.ts'
import { requireHost } from '../host/requireHost.ts'
import { createJobRunner, type JobRunner } from './createJobRunner.ts'
import { pythonJob } from './pythonJob.ts'

// A value only the test process (and the sentinel it starts) has in its environment: if any host
// environment leaks into a job, this marker shows up in the job's output.
const marker = `sandrun-marker-${randomBytes(8).toString('hex')}`
process.env.SANDRUN_ESCAPE_MARKER = marker

type Attempt = { ok: boolean; errno?: string; value?: unknown }
type SyscallReport = { ret: number; errno: string | null }

let runner: JobRunner
/** The host uids this file's jobs run as: a block of its own, away from the default range. */
const jobUids = { first: 2_100_000_000, blockSize: 8, blocks: 1 }
/** One host process per job uid, carrying the marker in argv and env: whatever uid a job has, a sentinel shares it. */
let sentinels: ChildProcess[] = []
let sentinel: ChildProcess

beforeAll(async () => {
  runner = await createJobRunner({ jobUids })
  sentinels = Array.from({ length: jobUids.blockSize }, (_, i) =>
    spawn('/usr/bin/python3', ['-c', 'import time; time.sleep(600)', marker], {
      uid: jobUids.first + i,
      gid: jobUids.first + i,
      stdio: 'ignore',
      env: { SANDRUN_ESCAPE_MARKER: marker },
    }),
  )
  await Promise.all(sentinels.map((child) => once(child, 'spawn')))
  sentinel = sentinels[0]!
})

afterAll(async () => {
  for (const child of sentinels) child.kill('SIGKILL')
  await runner?.close()
})

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch {
    return ''
  }
}

/** Every sentinel is alive. */
function sentinelAlive(): boolean {
  return sentinels.every(isAlive)
}

/** Reads the kernel's view, not Node's: a killed sentinel may not have been reaped yet (a zombie). */
function isAlive(sentinel: ChildProcess): boolean {
  if (sentinel.exitCode !== null || sentinel.signalCode !== null) return false
  try {
    const stat = readFileSync(`/proc/${sentinel.pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return false
  }
}

async function runPython(code: string, manifest: Record<string, unknown> = {}) {
  return runner.run({ files: pythonJob(code), manifest })
}

describe('filesystem', () => {
  it('cannot read /etc/shadow', async () => {
    const result = await runPython(`report(shadow=attempt(lambda: open('/etc/shadow').read()))`)
    const { shadow } = result.report<{ shadow: Attempt }>()
    expect(shadow.ok).toBe(false)
    expect(result.out).not.toMatch(/root:[^:\n]*:\d+/)
  })

  it('cannot list /root or /home', async () => {
    const result = await runPython(`report(root=attempt(lambda: os.listdir('/root')), home=attempt(lambda: os.listdir('/home')))`)
    const { root, home } = result.report<{ root: Attempt; home: Attempt }>()
    expect(root).toEqual({ ok: false, errno: 'ENOENT' })
    expect(home).toEqual({ ok: false, errno: 'ENOENT' })
  })

  it('sees only the sandbox filesystem at the top level (no /var, /run, /sys, host sockets)', async () => {
    const result = await runPython(`
report(top=sorted(os.listdir('/')), docker=os.path.exists('/var/run/docker.sock'), sys=os.path.exists('/sys'))`)
    const { top, docker, sys } = result.report<{ top: string[]; docker: boolean; sys: boolean }>()
    expect(top).toContain('work')
    // Only system directories, the job's own mounts and the merged-/usr links; no host data dirs.
    const allowed = ['bin', 'dev', 'etc', 'lib', 'lib32', 'lib64', 'libx32', 'proc', 'sbin', 'tmp', 'usr', 'work']
    for (const entry of top) expect(allowed, entry).toContain(entry)
    expect(docker).toBe(false)
    expect(sys).toBe(false)
  })

  it('cannot write outside /work and /tmp (read-only root, /usr, /etc)', async () => {
    const name = `sandrun-escape-${randomBytes(6).toString('hex')}`
    const result = await runPython(`
name = ${JSON.stringify(name)}
targets = ['/' + name, '/usr/' + name, '/usr/bin/' + name, '/etc/' + name, '/etc/passwd', '/tmp/' + name, '/work/' + name]
report(**{t: attempt(lambda t=t: open(t, 'a').write('x')) for t in targets})`)
    const report = result.report<Record<string, Attempt>>()
    for (const target of [`/${name}`, `/usr/${name}`, `/usr/bin/${name}`, `/etc/${name}`, '/etc/passwd']) {
      expect(report[target]?.ok, target).toBe(false)
      expect(['EROFS', 'EACCES', 'EPERM']).toContain(report[target]?.errno)
    }
    // /tmp and /work are the job's own tmpfs: writable inside, invisible on the host.
    expect(report[`/tmp/${name}`]?.ok).toBe(true)
    expect(report[`/work/${name}`]?.ok).toBe(true)
    for (const hostPath of [`/${name}`, `/usr/${name}`, `/usr/bin/${name}`, `/etc/${name}`, `/tmp/${name}`]) expect(existsSync(hostPath), hostPath).toBe(false)
  })

  it('cannot write under /proc/sys or /proc/sysrq-trigger', async () => {
    // Writing back the value just read: harmless even if the sandbox were broken.
    const result = await runPython(`
def rewrite(path):
    value = open(path).read()
    with open(path, 'w') as f:
        f.write(value)
report(core_pattern=attempt(lambda: rewrite('/proc/sys/kernel/core_pattern')),
       hostname=attempt(lambda: rewrite('/proc/sys/kernel/hostname')),
       sysrq=attempt(lambda: open('/proc/sysrq-trigger', 'w').write('')))`)
    const report = result.report<Record<string, Attempt>>()
    for (const key of ['core_pattern', 'hostname', 'sysrq']) expect(report[key]?.ok, key).toBe(false)
  })

  it('has no /dev/mem, disks or other host devices in /dev', async () => {
    const result = await runPython(`
import stat
devices = {}
for name in os.listdir('/dev'):
    st = os.lstat('/dev/' + name)
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        devices[name] = ['b' if stat.S_ISBLK(st.st_mode) else 'c', os.major(st.st_rdev), os.minor(st.st_rdev)]
report(devices=devices, mem=attempt(lambda: os.open('/dev/mem', os.O_RDONLY)), kmsg=attempt(lambda: os.open('/dev/kmsg', os.O_RDONLY)))`)
    const { devices, mem, kmsg } = result.report<{ devices: Record<string, [string, number, number]>; mem: Attempt; kmsg: Attempt }>()
    expect(mem).toEqual({ ok: false, errno: 'ENOENT' })
    expect(kmsg).toEqual({ ok: false, errno: 'ENOENT' })
    // null, zero, full, random, urandom (major 1), tty and ptmx (major 5): nothing that reaches hardware.
    const harmless = new Set(['c:1:3', 'c:1:5', 'c:1:7', 'c:1:8', 'c:1:9', 'c:5:0', 'c:5:2'])
    for (const [name, [kind, major, minor]] of Object.entries(devices)) expect(harmless.has(`${kind}:${major}:${minor}`), name).toBe(true)
  })

  it('cannot create device nodes with mknod', async () => {
    const result = await runPython(`
import stat
report(char=attempt(lambda: os.mknod('/work/mem', stat.S_IFCHR | 0o600, os.makedev(1, 1))),
       block=attempt(lambda: os.mknod('/tmp/disk', stat.S_IFBLK | 0o600, os.makedev(8, 0))),
       exists=os.path.exists('/work/mem') or os.path.exists('/tmp/disk'))`)
    const report = result.report<{ char: Attempt; block: Attempt; exists: boolean }>()
    expect(report.char).toEqual({ ok: false, errno: 'EPERM' })
    expect(report.block).toEqual({ ok: false, errno: 'EPERM' })
    expect(report.exists).toBe(false)
  })

  it('gains nothing from setuid binaries (a setuid copy in /work, the host setuid-root mount)', async () => {
    const result = await runPython(`
import shutil, stat, subprocess
shutil.copy('/usr/bin/id', '/work/id')
os.chmod('/work/id', 0o4755)
copy = subprocess.run(['/work/id', '-u'], capture_output=True, text=True)
mount = subprocess.run(['/usr/bin/mount', '-t', 'tmpfs', 'none', '/tmp'], capture_output=True, text=True)
work_options = [line.split()[5] for line in open('/proc/self/mountinfo') if line.split()[4] == '/work']
tmp_mounts = [line for line in open('/proc/self/mountinfo') if line.split()[4] == '/tmp']
report(copy_euid=copy.stdout.strip(), setuid_bit=bool(os.stat('/work/id').st_mode & stat.S_ISUID),
       mount_rc=mount.returncode, tmp_mounts=len(tmp_mounts), work_options=work_options[0].split(','))`)
    const report = result.report<{ copy_euid: string; setuid_bit: boolean; mount_rc: number; tmp_mounts: number; work_options: string[] }>()
    expect(report.setuid_bit).toBe(true)
    expect(report.copy_euid).toBe('65534')
    expect(report.work_options).toContain('nosuid')
    expect(report.mount_rc).not.toBe(0)
    expect(report.tmp_mounts).toBe(1)
  })

  it("finds no host path of the service in what it can read about its own mounts and process", async () => {
    const result = await runPython(`
report(**{f: attempt(lambda f=f: open(f, 'rb').read().decode(errors='replace')) for f in
          ['/proc/self/mountinfo', '/proc/self/mounts', '/proc/self/cgroup', '/proc/self/environ', '/proc/self/cmdline']})`)
    const report = result.report<Record<string, Attempt>>()
    expect(report['/proc/self/mountinfo']?.ok).toBe(true)
    // The service's runtime directory (workspaces, /etc, /dev) and data directories are host paths.
    expect(result.out).not.toMatch(/\/run\/sandrun|\/tmp\/sandrun|\/dev\/shm\/sandrun|sandrun-test|process_api/)
    const roots = String(report['/proc/self/mountinfo']?.value)
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[3])
    // A bind mount shows its path in the source filesystem: only /usr (the same path inside), the
    // workspace's job directory and bwrap's own root may appear; everything else is a mount's root.
    expect(new Set(roots)).toEqual(new Set(['/', '/newroot', '/usr', '/work']))
  })

  it("cannot read a concurrent job's files, environment or processes", async () => {
    const token = randomBytes(12).toString('hex')
    const reversed = [...token].reverse().join('')
    const controller = new AbortController()
    let ready!: () => void
    const written = new Promise<void>((resolve) => (ready = resolve))
    // Job A keeps a secret in its /work, /tmp and environment until it is cancelled. Neither
    // program's source contains the secret itself (it is the reversed token), so B's search
    // cannot trip over its own code.
    const jobA = runner.run({
      files: pythonJob(`
secret = ${JSON.stringify(token)}[::-1]
os.environ['SECRET'] = secret
open('/work/' + secret + '.txt', 'w').write(secret)
open('/tmp/secret', 'w').write(secret)
print('ready', flush=True)
import time
time.sleep(60)`),
      manifest: { timeout: 60 },
      signal: controller.signal,
      onOutput: (_stream, chunk) => {
        if (chunk.toString().includes('ready')) ready()
      },
    })
    await Promise.race([written, jobA])

    const jobB = await runPython(`
needle = ${JSON.stringify(token)}[::-1].encode()
me = str(os.getpid())
found = []
def scan_file(path):
    try:
        with open(path, 'rb') as f:
            if needle in f.read(1 << 20):
                found.append(path)
    except OSError:
        pass
def scan_tree(root):
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            if needle in name.encode():
                found.append(os.path.join(directory, name))
        for name in files:
            scan_file(os.path.join(directory, name))
for root in ['/work', '/tmp', '/dev/shm']:
    scan_tree(root)
pids = [p for p in os.listdir('/proc') if p.isdigit() and p != me]
for pid in pids:
    for name in ['cmdline', 'environ']:
        scan_file('/proc/%s/%s' % (pid, name))
    for sub in ['root/work', 'root/tmp', 'cwd']:
        scan_tree('/proc/%s/%s' % (pid, sub))
report(found=found, work=sorted(os.listdir('/work')), pids=len(pids))`)
    controller.abort()
    const a = await jobA

    const report = jobB.report<{ found: string[]; work: string[] }>()
    expect(report.found).toEqual([])
    expect(report.work).toEqual(['main.py'])
    expect(jobB.out).not.toContain(reversed)
    // A really was running (with its secret written) while B searched.
    expect(a.termination).toBe('cancelled')
    expect(a.out).toContain('ready')
  })
})

describe('processes and identity', () => {
  it('sees only its own processes (no host pids, no sentinel; the sandbox init is hidden)', async () => {
    const result = await runPython(`
import subprocess
def cmdline(p):
    try:
        return open('/proc/%s/cmdline' % p, 'rb').read().split(b'\\0')[0].decode()
    except OSError as e:
        return errno.errorcode[e.errno]
procs = {p: cmdline(p) for p in os.listdir('/proc') if p.isdigit()}
ps = subprocess.run(['ps', '-eo', 'pid=,args='], capture_output=True, text=True).stdout
report(procs=procs, ps=ps)`)
    const { procs, ps } = result.report<{ procs: Record<string, string>; ps: string }>()
    expect(procs).toEqual({ '1': 'ENOENT', '2': '/usr/bin/python3' })
    expect(ps).not.toContain(marker)
    expect(ps).not.toMatch(/vitest|node/)
    // The host does see the sentinel: the check above could have found it.
    expect(readFileSync(`/proc/${sentinel.pid}/cmdline`, 'utf8')).toContain(marker)
  })

  it("cannot read host processes' environment through /proc/1/environ or any /proc/*/environ", async () => {
    const result = await runPython(`
dumps = {}
for p in os.listdir('/proc'):
    if p.isdigit() or p == 'self':
        dumps[p] = attempt(lambda p=p: open('/proc/%s/environ' % p, 'rb').read().decode(errors='replace'))
report(dumps=dumps)`)
    const { dumps } = result.report<{ dumps: Record<string, Attempt> }>()
    expect(dumps.self?.ok).toBe(true)
    expect(String(dumps.self?.value)).toContain('HOME=/work')
    expect(Object.keys(dumps)).toContain('1')
    expect(result.out).not.toContain(marker)
    expect(result.out).not.toContain('SANDRUN_ESCAPE_MARKER')
  })

  it("does not inherit the host's environment", async () => {
    const result = await runPython(`report(env=dict(os.environ))`)
    const { env } = result.report<{ env: Record<string, string> }>()
    expect(env.SANDRUN_ESCAPE_MARKER).toBeUndefined()
    expect(Object.values(env)).not.toContain(marker)
    expect(env.HOME).toBe('/work')
    expect(env.PATH).toBe('/usr/local/bin:/usr/bin:/bin')
  })

  it("cannot write the memory of the sandbox's init, nor read anything of it (/proc/1 is hidden)", async () => {
    const result = await runPython(`
report(**{name: attempt(lambda name=name: os.open('/proc/1/' + name, os.O_RDWR if name.endswith('mem') else os.O_RDONLY))
          for name in ['mem', 'task/1/mem', 'environ', 'maps', 'fd', 'root', 'cmdline']},
       write=attempt(lambda: open('/proc/1/mem', 'r+b')), listing=attempt(lambda: os.listdir('/proc/1')))`)
    const report = result.report<Record<string, Attempt>>()
    for (const name of ['mem', 'task/1/mem', 'environ', 'maps', 'fd', 'root', 'cmdline', 'write']) expect(report[name], name).toEqual({ ok: false, errno: 'ENOENT' })
    expect(report.listing).toEqual({ ok: true, value: [] })
  })

  it('runs each job as a host uid of its own, from the reserved block, in a cgroup it does not own', async () => {
    const tokens = [randomBytes(6).toString('hex'), randomBytes(6).toString('hex')]
    const started = tokens.map(() => {
      let resolve!: () => void
      return { promise: new Promise<void>((r) => (resolve = r)), resolve: () => resolve() }
    })
    const controller = new AbortController()
    const jobs = tokens.map((token, i) =>
      runner.run({
        files: { 'main.sh': 'echo up; while true; do sleep 1; done' },
        manifest: { args: [token], timeout: 60 },
        signal: controller.signal,
        onOutput: () => started[i]!.resolve(),
      }),
    )
    await Promise.all(started.map((s) => s.promise))
    // From the host: the uid of each job's process, found by its unique argument.
    const pids = tokens.map((token) => readdirSync('/proc').find((p) => /^\d+$/.test(p) && safeRead(`/proc/${p}/cmdline`).includes(token)))
    const uids = pids.map((pid) => Number(/^Uid:\s+(\d+)/m.exec(safeRead(`/proc/${pid}/status`))?.[1]))
    // The job's cgroup directories and their control files (tasks, cgroup.procs) are root's, not the job's.
    const cgroupFiles = safeRead(`/proc/${pids[0]}/cgroup`)
      .split('\n')
      .map((line) => /^\d+:([^:]+):(\/.*\/job-[0-9a-f]+)$/.exec(line))
      .filter((match) => match !== null)
      .flatMap(([, controllers, dir]) => {
        const base = `/sys/fs/cgroup/${controllers!.replace(/^name=/, '')}${dir}`
        return existsSync(base) ? [base, ...readdirSync(base).map((name) => `${base}/${name}`)] : []
      })
    const owners = new Set(cgroupFiles.map((file) => statSync(file).uid))
    controller.abort()
    await Promise.all(jobs)
    expect(pids.every(Boolean)).toBe(true)
    if (runner.sandbox.capabilities.cgroupVersion === 'v1') expect(cgroupFiles.some((file) => file.endsWith('/tasks'))).toBe(true)
    expect([...owners]).toEqual(cgroupFiles.length > 0 ? [0] : [])
    expect(uids[0]).not.toBe(uids[1])
    for (const uid of uids) {
      expect(uid).toBeGreaterThanOrEqual(jobUids.first)
      expect(uid).toBeLessThan(jobUids.first + jobUids.blockSize)
    }
  })

  it("kill -1 and kill 1 do not reach the host (vitest and same-uid sentinels survive)", async () => {
    const result = await runPython(`
report(kill_all=attempt(lambda: os.kill(-1, 9)), kill_init=attempt(lambda: os.kill(1, 9)), survived=True)`)
    expect(result.termination).toBe('exited')
    expect(result.report<{ survived: boolean }>().survived).toBe(true)
    expect(sentinelAlive()).toBe(true)
  })

  it('cannot signal a host process by its host pid', async () => {
    // Host pid numbers mean nothing in the job's pid namespace: at most they name a job process.
    const result = await runPython(`
report(sentinels=[attempt(lambda pid=pid: os.kill(pid, 9)) for pid in ${JSON.stringify(sentinels.map((child) => child.pid))}], vitest=attempt(lambda: os.kill(${process.pid}, 9)), survived=True)`)
    expect(result.report<{ survived: boolean }>().survived).toBe(true)
    expect(sentinelAlive()).toBe(true)
  })

  it('runs as an unprivileged user and cannot become root', async () => {
    const result = await runPython(`
report(uid=os.getuid(), euid=os.geteuid(), gid=os.getgid(), setuid=attempt(lambda: os.setuid(0)),
       setresuid=attempt(lambda: os.setresuid(0, 0, 0)), setgroups=attempt(lambda: os.setgroups([0])))`)
    const report = result.report<{ uid: number; euid: number; gid: number; setuid: Attempt; setresuid: Attempt; setgroups: Attempt }>()
    expect(report.uid).not.toBe(0)
    expect(report.euid).not.toBe(0)
    expect(report.gid).not.toBe(0)
    expect(report.setuid.ok).toBe(false)
    expect(report.setresuid.ok).toBe(false)
    expect(report.setgroups.ok).toBe(false)
  })

  it('has no capabilities, no_new_privs and a seccomp filter', async () => {
    const result = await runPython(`
status = dict(line.rstrip('\\n').split(':\\t', 1) for line in open('/proc/self/status') if ':\\t' in line)
report(**{k: status.get(k) for k in ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb', 'NoNewPrivs', 'Seccomp']})`)
    expect(result.report()).toEqual({
      CapInh: '0000000000000000',
      CapPrm: '0000000000000000',
      CapEff: '0000000000000000',
      CapBnd: '0000000000000000',
      CapAmb: '0000000000000000',
      NoNewPrivs: '1',
      Seccomp: '2',
    })
  })

  it('has hostname sandrun and cannot change it (nor the host one)', async () => {
    const result = await runPython(`
import socket
before = socket.gethostname()
change = syscall(170, b'pwned', 5)
report(before=before, nodename=os.uname().nodename, sethostname=change, after=socket.gethostname())`)
    const report = result.report<{ before: string; nodename: string; sethostname: SyscallReport; after: string }>()
    expect(report.before).toBe('sandrun')
    expect(report.nodename).toBe('sandrun')
    expect(report.sethostname).toEqual({ ret: -1, errno: 'EPERM' })
    expect(report.after).toBe('sandrun')
    expect(hostname()).not.toBe('pwned')
  })

  it('cannot ptrace a sibling process', async () => {
    const result = await runPython(`
import time
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
attach = syscall(101, 16, child, 0, 0)  # PTRACE_ATTACH
seize = syscall(101, 0x4206, child, 0, 0)  # PTRACE_SEIZE
os.kill(child, 9)
os.waitpid(child, 0)
report(attach=attach, seize=seize)`)
    expect(result.report()).toEqual({ attach: { ret: -1, errno: 'EPERM' }, seize: { ret: -1, errno: 'EPERM' } })
  })

  it("cannot read a sibling's memory with process_vm_readv", async () => {
    const result = await runPython(`
import time
secret = ctypes.create_string_buffer(b'sibling secret', 64)
child = os.fork()
if child == 0:
    time.sleep(30)
    os._exit(0)
class iovec(ctypes.Structure):
    _fields_ = [('base', ctypes.c_void_p), ('len', ctypes.c_size_t)]
target = ctypes.create_string_buffer(64)
local = iovec(ctypes.addressof(target), 64)
remote = iovec(ctypes.addressof(secret), 64)
r = syscall(310, child, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
os.kill(child, 9)
os.waitpid(child, 0)
report(readv=r, copied=target.value.decode(errors='replace'))`)
    expect(result.report()).toEqual({ readv: { ret: -1, errno: 'EPERM' }, copied: '' })
  })
})

describe('network', () => {
  let tcpServer: net.Server
  let tcpPort: number
  const tcpConnections: net.Socket[] = []
  let udpServer: UdpSocket
  let udpPort: number
  const udpMessages: string[] = []
  let abstractServer: net.Server
  const abstractName = `\0sandrun-escape-${randomBytes(6).toString('hex')}`
  let abstractConnections = 0

  beforeAll(async () => {
    tcpServer = net.createServer((socket) => {
      tcpConnections.push(socket)
      socket.on('error', () => {})
    })
    tcpServer.listen(0, '127.0.0.1')
    await once(tcpServer, 'listening')
    tcpPort = (tcpServer.address() as net.AddressInfo).port
    udpServer = createSocket('udp4', (message) => udpMessages.push(message.toString()))
    udpServer.bind(0, '127.0.0.1')
    await once(udpServer, 'listening')
    udpPort = udpServer.address().port
    abstractServer = net.createServer((socket) => {
      abstractConnections++
      socket.destroy()
    })
    abstractServer.listen(abstractName)
    await once(abstractServer, 'listening')
  })

  afterAll(async () => {
    for (const socket of tcpConnections) socket.destroy()
    tcpServer?.close()
    udpServer?.close()
    abstractServer?.close()
  })

  it("cannot open a TCP connection to the host's 127.0.0.1", async () => {
    const result = await runPython(`
import socket
def connect(family, address):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2)
    s.connect(address)
    return 'connected'
report(v4=attempt(lambda: connect(socket.AF_INET, ('127.0.0.1', ${tcpPort}))),
       v6=attempt(lambda: connect(socket.AF_INET6, ('::1', ${tcpPort}))))`)
    const report = result.report<{ v4: Attempt; v6: Attempt }>()
    expect(report.v4.ok).toBe(false)
    expect(report.v6.ok).toBe(false)
    // A probe from the host itself must be the first connection the server ever sees.
    const probe = net.connect(tcpPort, '127.0.0.1')
    await once(tcpServer, 'connection')
    probe.destroy()
    expect(tcpConnections).toHaveLength(1)
  })

  it("cannot send UDP to the host's 127.0.0.1", async () => {
    const result = await runPython(`
import socket
def send():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(5):
        s.sendto(b'escaped', ('127.0.0.1', ${udpPort}))
    return 'sent'
report(udp=attempt(send))`)
    expect(result.report<{ udp: Attempt }>().udp.ok).toBe(false)
    // Datagrams on loopback arrive in order: once the probe is here, anything earlier would be too.
    const probe = createSocket('udp4')
    const received = once(udpServer, 'message')
    probe.send('probe', udpPort, '127.0.0.1')
    await received
    probe.close()
    expect(udpMessages).toEqual(['probe'])
  })

  it('cannot reach the internet (TCP to a public address)', async () => {
    const result = await runPython(`
import socket
report(public=attempt(lambda: socket.create_connection(('1.1.1.1', 53), timeout=2) and 'connected'))`)
    expect(result.report<{ public: Attempt }>().public.ok).toBe(false)
  })

  it("cannot connect to a host abstract unix socket", async () => {
    const result = await runPython(`
import socket
def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(${JSON.stringify(abstractName)})
    return 'connected'
report(abstract=attempt(connect))`)
    expect(result.report<{ abstract: Attempt }>().abstract).toEqual({ ok: false, errno: 'ECONNREFUSED' })
    expect(abstractConnections).toBe(0)
  })

  it.each([
    ['raw IPv4', 'socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP'],
    ['netlink', 'socket.AF_NETLINK, socket.SOCK_RAW, 0'],
    ['packet', 'socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3)'],
  ])('cannot open a %s socket', async (_name, args) => {
    const result = await runPython(`
import socket
report(socket=attempt(lambda: socket.socket(${args}).fileno()))`)
    const { socket } = result.report<{ socket: Attempt }>()
    expect(socket.ok).toBe(false)
    // The filter answers other address families as "not supported", so programs fall back cleanly.
    expect(['EAFNOSUPPORT', 'EPERM', 'EACCES']).toContain(socket.errno)
  })
})

describe('system calls', () => {
  // Each program makes the call with arguments that would succeed (or at least get past argument
  // checks) on an unsandboxed host, so EPERM here means the sandbox refused it.
  const attacks: Array<[string, string]> = [
    ['mount a tmpfs', `r = syscall(165, b'none', b'/tmp', b'tmpfs', 0, None)`],
    ['umount2 /work', `r = syscall(166, b'/work', 2)`],
    ['pivot_root', `r = syscall(155, b'/tmp', b'/tmp')`],
    ['chroot', `r = syscall(161, b'/tmp')`],
    ['unshare a user namespace', `r = syscall(272, 0x10000000)`],
    ['unshare mount and net namespaces', `r = syscall(272, 0x20000 | 0x40000000)`],
    ['setns into a namespace', `r = syscall(308, os.open('/proc/self/ns/net', os.O_RDONLY), 0)`],
    ['clone with CLONE_NEWUSER', `r = syscall(56, 0x10000000 | 17, 0, 0, 0, 0)\nif r['ret'] == 0: os._exit(0)`],
    ['keyctl', `r = syscall(250, 0, -3, 1)`],
    ['add_key', `r = syscall(248, b'user', b'sandrun', b'secret', 6, -2)`],
    ['request_key', `r = syscall(249, b'user', b'sandrun', None, 0)`],
    ['bpf map create', `attr = (ctypes.c_uint32 * 16)(2, 4, 4, 1)\nr = syscall(321, 0, ctypes.byref(attr), ctypes.sizeof(attr))`],
    [
      'perf_event_open',
      `import struct
attr = ctypes.create_string_buffer(struct.pack('<IIQQQQQ', 1, 128, 0, 0, 0, 0, 1 | 1 << 5 | 1 << 6).ljust(128, b'\\0'), 128)
r = syscall(298, attr, 0, -1, -1, 0)`,
    ],
    ['userfaultfd', `r = syscall(323, os.O_CLOEXEC | 1)`],
    ['io_uring_setup', `params = ctypes.create_string_buffer(120)\nr = syscall(425, 8, params)`],
    ['init_module', `image = ctypes.create_string_buffer(64)\nr = syscall(175, image, 64, b'')`],
    ['finit_module', `r = syscall(313, os.open('/usr/bin/true', os.O_RDONLY), b'', 0)`],
    ['kexec_load', `r = syscall(246, 0, 0, None, 0)`],
    ['reboot (CAD off)', `r = syscall(169, 0xfee1dead, 672274793, 0, None)`],
    ['setdomainname', `r = syscall(171, b'pwned', 5)`],
    ['settimeofday', `import time\ntv = (ctypes.c_long * 2)(int(time.time()), 0)\nr = syscall(164, ctypes.byref(tv), None)`],
    ['clock_settime', `import time\nts = (ctypes.c_long * 2)(int(time.time()), 0)\nr = syscall(227, 0, ctypes.byref(ts))`],
    ['adjtimex (even read-only)', `buf = ctypes.create_string_buffer(256)\nr = syscall(159, buf)`],
    ['syslog (read the kernel log)', `buf = ctypes.create_string_buffer(4096)\nr = syscall(103, 3, buf, 4096)`],
    ['iopl', `r = syscall(172, 3)`],
    ['ioperm', `r = syscall(173, 0x80, 1, 1)`],
    ['modify_ldt', `buf = ctypes.create_string_buffer(16)\nr = syscall(154, 0, buf, 16)`],
    ['swapon', `r = syscall(167, b'/work/main.py', 0)`],
    ['acct', `r = syscall(163, b'/work/acct')`],
    ['personality(READ_IMPLIES_EXEC)', `r = syscall(135, 0x0400000)`],
    [
      'name_to_handle_at',
      `handle = ctypes.create_string_buffer(136)
ctypes.c_uint32.from_buffer(handle).value = 128
mount_id = ctypes.c_int()
r = syscall(303, -100, b'/work', handle, ctypes.byref(mount_id), 0)`,
    ],
    [
      'open_by_handle_at',
      `handle = ctypes.create_string_buffer(16)
ctypes.c_uint32.from_buffer(handle).value = 8
r = syscall(304, os.open('/work', os.O_RDONLY), handle, os.O_RDONLY)`,
    ],
  ]

  it.each(attacks)('%s fails with EPERM', async (_name, code) => {
    const result = await runPython(`${code}\nreport(**r)`)
    expect(result.report()).toEqual({ ret: -1, errno: 'EPERM' })
  })

  it('cannot make an x32 system call', async () => {
    const result = await runPython(`r = syscall(0x40000000 | 39)\nreport(pid=os.getpid(), **r)`)
    // The filter may kill the process or refuse the call; the call must never return a pid.
    if (result.termination === 'exited') {
      const report = result.report<SyscallReport & { pid: number }>()
      expect(report.ret).toBe(-1)
    } else {
      expect(result.termination).toBe('signaled:31')
    }
  })

  it('cannot make a 32-bit system call through int 0x80', async (context) => {
    requireHost(context, probeInt80())
    const result = await runPython(`
import mmap
code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20 (i386 getpid); int 0x80; ret
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(code)
function = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))
print('calling', flush=True)
report(ret=function(), pid=os.getpid())`)
    expect(result.out).toContain('calling')
    if (result.termination === 'signaled:31') return
    // Not killed: the call must have failed rather than returned the pid.
    expect(result.termination).toBe('exited')
    const report = result.report<{ ret: number; pid: number }>()
    expect(report.ret).toBeLessThan(0)
  })

  it('cannot inject terminal input with TIOCSTI', async () => {
    const result = await runPython(`
import fcntl, termios
def inject(fd):
    fcntl.ioctl(fd, termios.TIOCSTI, b'x')
    return 'injected'
results = {str(fd): attempt(lambda fd=fd: inject(fd)) for fd in (0, 1, 2)}
results['tty'] = attempt(lambda: inject(os.open('/dev/tty', os.O_RDWR)))
report(**results)`)
    const report = result.report<Record<string, Attempt>>()
    expect(Object.keys(report)).toEqual(['0', '1', '2', 'tty'])
    for (const [target, outcome] of Object.entries(report)) expect(outcome.ok, target).toBe(false)
  })
})

describe('the next job', () => {
  it('finds nothing of the previous job on its /work: no extended attributes, no default ACL', async () => {
    // One idle workspace and no pre-started sandboxes: the second job gets the first one's tmpfs.
    const sequential = await createJobRunner({ keepIdleWorkspaces: 1, warmSandboxes: 0 })
    try {
      const plant = await sequential.run({
        files: pythonJob(`
import struct
# A default ACL that leaves every new file without permissions, and a note for whoever comes next.
acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', tag, 0, 0xffffffff) for tag in (0x01, 0x04, 0x20))
report(acl=attempt(lambda: os.setxattr('/work', 'system.posix_acl_default', acl)),
       note=attempt(lambda: os.setxattr('/work', 'user.note', b'hello next job')))`),
      })
      const planted = plant.report<{ acl: Attempt; note: Attempt }>()
      // Both are allowed on one's own directory; what matters is that they do not last.
      expect(planted.acl.ok || planted.note.ok).toBe(true)
      const next = await sequential.run({
        files: pythonJob(`
open('/work/new.txt', 'w').write('x')
report(xattrs=os.listxattr('/work'), mode=oct(os.stat('/work/new.txt').st_mode & 0o777), read=open('/work/new.txt').read())`),
      })
      expect(next.report()).toEqual({ xattrs: [], mode: '0o644', read: 'x' })
    } finally {
      await sequential.close()
    }
  })
})
