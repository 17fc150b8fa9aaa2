import { describe, expect, it } from 'vitest'
import { BpfAssembler } from './bpfAssembler.ts'
import { bpf } from './bpf.ts'
import { compileSeccompFilter } from './compileSeccompFilter.ts'
import { evaluateSeccompFilter } from './evaluateSeccompFilter.ts'
import { runBpfProgram } from './runBpfProgram.ts'
import type { SyscallRule } from './syscallRule.ts'

const allow = { type: 'allow' }
const eperm = { type: 'errno', errno: 1 }

function decide(rules: SyscallRule[], syscall: string, args: (bigint | number)[] = []) {
  return evaluateSeccompFilter({ syscall, args, program: compileSeccompFilter({ rules }) })
}

describe('compileSeccompFilter', () => {
  it('allows exactly the listed calls and answers the default errno for the rest', () => {
    const program = compileSeccompFilter({ rules: ['read', 'write', 'exit_group'], defaultErrno: 13 })
    for (const name of ['read', 'write', 'exit_group']) expect(evaluateSeccompFilter({ syscall: name, program })).toEqual(allow)
    for (const name of ['open', 'close', 'exit', 'ptrace']) {
      expect(evaluateSeccompFilter({ syscall: name, program })).toEqual({ type: 'errno', errno: 13 })
    }
  })

  it('compares 64-bit arguments on both halves', () => {
    const rules: SyscallRule[] = [{ name: 'mmap', when: [{ arg: 5, op: 'in', values: [0x1_0000_0002n] }] }]
    expect(decide(rules, 'mmap', [0, 0, 0, 0, 0, 0x1_0000_0002n])).toEqual(allow)
    expect(decide(rules, 'mmap', [0, 0, 0, 0, 0, 0x2])).toEqual(eperm)
    expect(decide(rules, 'mmap', [0, 0, 0, 0, 0, 0x1_0000_0000n])).toEqual(eperm)
  })

  it('tests flags in the upper half of a 64-bit argument', () => {
    const rules: SyscallRule[] = [{ name: 'clone', when: [{ arg: 0, op: 'maskedEq', mask: 0x2_0000_0000n, value: 0n }] }]
    expect(decide(rules, 'clone', [0xffff_ffffn])).toEqual(allow)
    expect(decide(rules, 'clone', [0x2_0000_0000n])).toEqual(eperm)
  })

  it('lets a conditional rule fail with its own errno', () => {
    const rules: SyscallRule[] = [{ name: 'socket', when: [{ arg: 0, width: 32, op: 'notIn', values: [2n, 10n] }], otherwise: 97 }]
    expect(decide(rules, 'socket', [1])).toEqual(allow)
    expect(decide(rules, 'socket', [10])).toEqual({ type: 'errno', errno: 97 })
  })

  it('requires every condition of a rule to hold', () => {
    const rules: SyscallRule[] = [
      {
        name: 'openat',
        when: [
          { arg: 0, width: 32, op: 'in', values: [3n] },
          { arg: 2, op: 'notIn', values: [0x40n] },
        ],
      },
    ]
    expect(decide(rules, 'openat', [3, 0, 0])).toEqual(allow)
    expect(decide(rules, 'openat', [4, 0, 0])).toEqual(eperm)
    expect(decide(rules, 'openat', [3, 0, 0x40])).toEqual(eperm)
  })

  it('stays correct when an argument rule is longer than a conditional jump can reach', () => {
    const values = Array.from({ length: 400 }, (_, index) => BigInt(1000 + index))
    const rules: SyscallRule[] = ['read', { name: 'ioctl', when: [{ arg: 1, op: 'in', values }] }, 'write', 'exit_group']
    const program = compileSeccompFilter({ rules })
    expect(program.length).toBeGreaterThan(800)
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [0, 1000], program })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [0, 1399], program })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'ioctl', args: [0, 1400], program })).toEqual(eperm)
    expect(evaluateSeccompFilter({ syscall: 'write', program })).toEqual(allow)
    expect(evaluateSeccompFilter({ syscall: 'close', program })).toEqual(eperm)
  })

  it.each([
    ['a duplicate rule', ['read', 'read'], 'SECCOMP_DUPLICATE_RULE'],
    ['an unknown name', ['reed' as 'read'], 'SECCOMP_UNKNOWN_SYSCALL'],
    ['a 33-bit value in a 32-bit comparison', [{ name: 'socket', when: [{ arg: 0, width: 32, op: 'in', values: [1n << 32n] }] }], 'SECCOMP_INVALID_RULE'],
    ['a masked value with bits outside its mask', [{ name: 'clone', when: [{ arg: 0, op: 'maskedEq', mask: 0xf0n, value: 0x1n }] }], 'SECCOMP_INVALID_RULE'],
    ['an empty value list', [{ name: 'socket', when: [{ arg: 0, op: 'in', values: [] }] }], 'SECCOMP_INVALID_RULE'],
  ] as [string, SyscallRule[], string][])('refuses %s', (_name, rules, code) => {
    expect(() => compileSeccompFilter({ rules })).toThrow(expect.objectContaining({ code }))
  })

  it('refuses a program longer than the kernel accepts', () => {
    const values = Array.from({ length: 3000 }, (_, index) => BigInt(index))
    expect(() => compileSeccompFilter({ rules: [{ name: 'ioctl', when: [{ arg: 1, op: 'in', values }] }] })).toThrow(
      expect.objectContaining({ code: 'SECCOMP_PROGRAM_TOO_LONG' }),
    )
  })
})

describe('BpfAssembler', () => {
  it('routes a conditional jump past 255 instructions through a trampoline', () => {
    const asm = new BpfAssembler()
    const far = asm.label('far')
    asm.loadWord(0)
    asm.jump(bpf.jeqK, 7, far, undefined)
    for (let index = 0; index < 300; index++) asm.ret(index)
    asm.bind(far)
    asm.ret(0xabcd)
    const program = asm.assemble()
    expect(program.every((instruction) => instruction.jt <= 255 && instruction.jf <= 255)).toBe(true)
    expect(runBpfProgram(program, { nr: 7, arch: 0 })).toBe(0xabcd)
    expect(runBpfProgram(program, { nr: 8, arch: 0 })).toBe(0)
  })

  it('refuses a label that is never placed', () => {
    const asm = new BpfAssembler()
    asm.goto(asm.label('nowhere'))
    expect(() => asm.assemble()).toThrow(expect.objectContaining({ code: 'SECCOMP_INVALID_PROGRAM' }))
  })
})

describe('runBpfProgram', () => {
  it('refuses loads outside seccomp_data and programs that run off the end', () => {
    expect(() => runBpfProgram([{ code: bpf.ldWAbs, jt: 0, jf: 0, k: 64 }], { nr: 0, arch: 0 })).toThrow(/outside seccomp_data/)
    expect(() => runBpfProgram([{ code: bpf.ldWAbs, jt: 0, jf: 0, k: 0 }], { nr: 0, arch: 0 })).toThrow(/without a return/)
  })
})
