// Compiles allowlist data into a seccomp BPF program: check the architecture (kill on mismatch),
// refuse x32 numbers, then a binary search over syscall-number ranges (O(log n) per call instead
// of a linear scan of ~300 compares), argument checks for conditional rules, default ERRNO.
import { auditArchX86_64, bpf, bpfMaxInstructions, seccompData, x32SyscallBit, type BpfInstruction } from './bpf.ts'
import { BpfAssembler, type BpfLabel } from './bpfAssembler.ts'
import { errno, seccompReturnValue } from './seccompAction.ts'
import { SeccompError } from './seccompError.ts'
import { syscallRuleName, type ArgCondition, type SyscallRule } from './syscallRule.ts'
import { x86_64Syscalls } from './syscalls.ts'

export type CompileSeccompFilterParameters = {
  rules: readonly SyscallRule[]
  /** name -> number; defaults to the x86_64 table. */
  syscalls?: Readonly<Record<string, number>>
  /** errno for every call the rules do not allow; EPERM unless told otherwise. */
  defaultErrno?: number
}

export type CompileSeccompFilterReturnType = BpfInstruction[]

export function compileSeccompFilter({
  rules,
  syscalls = x86_64Syscalls,
  defaultErrno = errno.EPERM,
}: CompileSeccompFilterParameters): CompileSeccompFilterReturnType {
  const asm = new BpfAssembler()
  const returns = new Map<number, BpfLabel>()
  // Every return lives once at the end; jumps share it instead of repeating `ret` in each leaf.
  const returnLabel = (value: number): BpfLabel => {
    let label = returns.get(value)
    if (!label) {
      label = asm.label(`ret ${value.toString(16)}`)
      returns.set(value, label)
    }
    return label
  }
  const errnoLabel = (code: number): BpfLabel => returnLabel(seccompReturnValue({ type: 'errno', errno: code }))
  const allow = returnLabel(seccompReturnValue({ type: 'allow' }))
  const deny = errnoLabel(defaultErrno)

  const conditional: { label: BpfLabel; rule: Extract<SyscallRule, { when: unknown }> }[] = []
  const targets = new Map<number, BpfLabel>()
  for (const rule of rules) {
    const name = syscallRuleName(rule)
    const nr = syscalls[name]
    if (nr === undefined) {
      throw new SeccompError('SECCOMP_UNKNOWN_SYSCALL', `The allowlist names "${name}", which is not in the syscall table; fix the name or add it to syscalls.ts.`)
    }
    if (targets.has(nr)) {
      throw new SeccompError('SECCOMP_DUPLICATE_RULE', `The allowlist has two rules for "${name}"; merge them into one.`)
    }
    if (typeof rule === 'string') targets.set(nr, allow)
    else if ('errno' in rule) targets.set(nr, errnoLabel(rule.errno))
    else {
      const label = asm.label(name)
      conditional.push({ label, rule })
      targets.set(nr, label)
    }
  }

  asm.loadWord(seccompData.arch)
  asm.jump(bpf.jeqK, auditArchX86_64, undefined, returnLabel(seccompReturnValue({ type: 'killProcess' })))
  asm.loadWord(seccompData.nr)
  // ENOSYS: what a kernel without x32 support answers, so nothing can tell the difference.
  asm.jump(bpf.jgeK, x32SyscallBit, errnoLabel(errno.ENOSYS), undefined)
  emitRangeSearch(asm, syscallRanges(targets, deny))

  for (const { label, rule } of conditional) {
    asm.bind(label)
    const fail = rule.otherwise === undefined ? deny : errnoLabel(rule.otherwise)
    for (const condition of rule.when) emitCondition(asm, condition, fail, rule.name)
    asm.goto(allow)
  }
  for (const [value, label] of returns) {
    asm.bind(label)
    asm.ret(value)
  }

  const program = asm.assemble()
  if (program.length > bpfMaxInstructions) {
    throw new SeccompError('SECCOMP_PROGRAM_TOO_LONG', `The seccomp program has ${program.length} instructions; the kernel takes at most ${bpfMaxInstructions}. Shorten the argument rules.`)
  }
  return program
}

type Range = { start: number; target: BpfLabel }

/** Consecutive numbers with the same target collapse into one range; gaps go to `fallback`. */
function syscallRanges(targets: Map<number, BpfLabel>, fallback: BpfLabel): Range[] {
  const ranges: Range[] = [{ start: 0, target: fallback }]
  const highest = Math.max(-1, ...targets.keys())
  for (let nr = 0; nr <= highest + 1; nr++) {
    const target = targets.get(nr) ?? fallback
    const last = ranges[ranges.length - 1]!
    if (last.target === target) continue
    if (last.start === nr) last.target = target
    else ranges.push({ start: nr, target })
  }
  return ranges
}

/** A balanced `jge` tree over the ranges; the accumulator holds the syscall number throughout. */
function emitRangeSearch(asm: BpfAssembler, ranges: Range[]): void {
  const entryOf = (low: number, high: number): BpfLabel => (low === high ? ranges[low]!.target : asm.label('search'))
  const emitNode = (low: number, high: number, entry: BpfLabel): void => {
    if (low === high) return
    asm.bind(entry)
    const middle = (low + high + 1) >>> 1
    const below = entryOf(low, middle - 1)
    const atOrAbove = entryOf(middle, high)
    asm.jump(bpf.jgeK, ranges[middle]!.start, atOrAbove, below)
    emitNode(low, middle - 1, below)
    emitNode(middle, high, atOrAbove)
  }
  const root = entryOf(0, ranges.length - 1)
  if (ranges.length === 1) asm.goto(root)
  else emitNode(0, ranges.length - 1, root)
}

const word = 0xffffffffn

/** Falls through when `condition` holds and jumps to `fail` when it does not. */
function emitCondition(asm: BpfAssembler, condition: ArgCondition, fail: BpfLabel, name: string): void {
  const width = condition.width ?? 64
  const values = condition.op === 'maskedEq' ? [condition.mask, condition.value] : condition.values
  const limit = width === 32 ? word : (1n << 64n) - 1n
  for (const value of values) {
    if (value < 0n || value > limit) {
      throw new SeccompError('SECCOMP_INVALID_RULE', `The rule for "${name}" compares argument ${condition.arg} with ${value}, which does not fit in ${width} bits; write it as an unsigned ${width}-bit value.`)
    }
  }
  const low = seccompData.argLow(condition.arg)
  const high = seccompData.argHigh(condition.arg)
  const halves = (value: bigint): [number, number] => [Number(value >> 32n), Number(value & word)]

  if (condition.op === 'maskedEq') {
    if ((condition.value & ~condition.mask) !== 0n) {
      throw new SeccompError('SECCOMP_INVALID_RULE', `The rule for "${name}" wants (arg${condition.arg} & mask) to equal a value with bits outside the mask, which can never match; fix the mask or the value.`)
    }
    const [maskHigh, maskLow] = halves(condition.mask)
    const [valueHigh, valueLow] = halves(condition.value)
    if (width === 64 && maskHigh !== 0) {
      asm.loadWord(high)
      asm.andConstant(maskHigh)
      asm.jump(bpf.jeqK, valueHigh, undefined, fail)
    }
    if (maskLow !== 0) {
      asm.loadWord(low)
      asm.andConstant(maskLow)
      asm.jump(bpf.jeqK, valueLow, undefined, fail)
    }
    return
  }

  if (condition.values.length === 0) {
    throw new SeccompError('SECCOMP_INVALID_RULE', `The rule for "${name}" has an empty value list; list at least one value or drop the condition.`)
  }
  const isIn = condition.op === 'in'
  const pass = asm.label('pass')
  if (width === 32) asm.loadWord(low)
  condition.values.forEach((value, index) => {
    const last = index === condition.values.length - 1
    // After the last value: an `in` that matched nothing fails, a `notIn` passes.
    const tryNext = last ? (isIn ? fail : pass) : asm.label('next value')
    const [valueHigh, valueLow] = halves(value)
    if (width === 64) {
      asm.loadWord(high)
      asm.jump(bpf.jeqK, valueHigh, undefined, tryNext)
      asm.loadWord(low)
    }
    asm.jump(bpf.jeqK, valueLow, isIn ? pass : fail, tryNext)
    if (!last) asm.bind(tryNext)
  })
  asm.bind(pass)
}
