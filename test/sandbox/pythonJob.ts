// Wraps an attack program in a small Python prelude (raw syscalls through ctypes, errno names,
// one JSON report line) so each test reads as the attack itself and asserts on what it achieved.
import type { PackFileContent } from '../../sandbox/bundle/packFiles.ts'

const prelude = `
import ctypes, errno, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long

def _arg(value):
    return ctypes.c_long(value) if isinstance(value, int) else value

def syscall(number, *args):
    """Raw syscall; returns {'ret': n, 'errno': name or None}."""
    ctypes.set_errno(0)
    ret = libc.syscall(ctypes.c_long(number), *[_arg(a) for a in args])
    code = ctypes.get_errno() if ret == -1 else 0
    return {'ret': ret, 'errno': errno.errorcode.get(code, str(code)) if ret == -1 else None}

def attempt(action):
    """Runs action(); returns {'ok': True, 'value': ...} or {'ok': False, 'errno': name}."""
    try:
        return {'ok': True, 'value': action()}
    except OSError as error:
        return {'ok': False, 'errno': errno.errorcode.get(error.errno, str(error.errno)) if error.errno else type(error).__name__}

def report(**fields):
    print(json.dumps(fields, default=repr), flush=True)
`

/** `{ 'main.py': prelude + code }`: the entrypoint first, as the job runner expects. */
export function pythonJob(code: string, extraFiles: Record<string, PackFileContent> = {}): Record<string, PackFileContent> {
  return { 'main.py': `${prelude}\n${code.trim()}\n`, ...extraFiles }
}
