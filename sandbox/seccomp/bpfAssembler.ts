// A tiny classic-BPF assembler with symbolic labels. Conditional jumps in classic BPF only reach
// 255 instructions ahead, so `assemble()` routes longer ones through `ja` trampolines (32-bit
// offsets) until every jump fits. Jumps only go forward, as the kernel requires.
import { bpf, type BpfInstruction } from './bpf.ts'
import { SeccompError } from './seccompError.ts'

export type BpfLabel = { readonly id: number; readonly name: string }

type Item =
  | { type: 'label'; label: BpfLabel }
  | { type: 'plain'; code: number; k: number }
  | { type: 'jump'; code: number; k: number; onTrue: BpfLabel; onFalse: BpfLabel }
  | { type: 'goto'; target: BpfLabel }

const maxConditionalOffset = 255

export class BpfAssembler {
  #items: Item[] = []
  #labelCount = 0

  label(name = 'L'): BpfLabel {
    return { id: this.#labelCount++, name }
  }

  /** Places `label` at the next instruction emitted. */
  bind(label: BpfLabel): void {
    this.#items.push({ type: 'label', label })
  }

  loadWord(offset: number): void {
    this.#items.push({ type: 'plain', code: bpf.ldWAbs, k: offset })
  }

  andConstant(mask: number): void {
    this.#items.push({ type: 'plain', code: bpf.aluAndK, k: mask >>> 0 })
  }

  ret(value: number): void {
    this.#items.push({ type: 'plain', code: bpf.retK, k: value >>> 0 })
  }

  goto(target: BpfLabel): void {
    this.#items.push({ type: 'goto', target })
  }

  /** A conditional jump; a missing target means "the next instruction". */
  jump(code: number, k: number, onTrue?: BpfLabel, onFalse?: BpfLabel): void {
    const next = onTrue && onFalse ? undefined : this.label('next')
    this.#items.push({ type: 'jump', code, k: k >>> 0, onTrue: onTrue ?? next!, onFalse: onFalse ?? next! })
    if (next) this.bind(next)
  }

  assemble(): BpfInstruction[] {
    let items = this.#items
    for (;;) {
      const positions = labelPositions(items)
      const relaxed = addTrampolines(items, positions, () => this.label('trampoline'))
      if (relaxed === items) return emit(items, positions)
      items = relaxed
    }
  }
}

function labelPositions(items: readonly Item[]): Map<number, number> {
  const positions = new Map<number, number>()
  let position = 0
  for (const item of items) {
    if (item.type === 'label') {
      if (positions.has(item.label.id)) {
        throw new SeccompError('SECCOMP_INVALID_PROGRAM', `BPF label "${item.label.name}" is bound twice; bind each label once.`)
      }
      positions.set(item.label.id, position)
    } else position++
  }
  return positions
}

function offsetTo(label: BpfLabel, from: number, positions: Map<number, number>): number {
  const target = positions.get(label.id)
  if (target === undefined) {
    throw new SeccompError('SECCOMP_INVALID_PROGRAM', `BPF label "${label.name}" is used but never bound; bind it where its code starts.`)
  }
  const offset = target - from - 1
  if (offset < 0) {
    throw new SeccompError('SECCOMP_INVALID_PROGRAM', `BPF jump to "${label.name}" goes backwards; seccomp programs only jump forward.`)
  }
  return offset
}

/** Returns `items` itself when every conditional jump is in range, otherwise a copy with trampolines. */
function addTrampolines(items: Item[], positions: Map<number, number>, newLabel: () => BpfLabel): Item[] {
  let result: Item[] | undefined
  let position = 0
  items.forEach((item, index) => {
    if (item.type === 'label') {
      result?.push(item)
      return
    }
    if (item.type !== 'jump') {
      result?.push(item)
      position++
      return
    }
    const trueFar = offsetTo(item.onTrue, position, positions) > maxConditionalOffset
    const falseFar = offsetTo(item.onFalse, position, positions) > maxConditionalOffset
    position++
    if (!trueFar && !falseFar) {
      result?.push(item)
      return
    }
    result ??= items.slice(0, index)
    // The trampolines sit right after the jump and before any label bound there, so code that
    // falls through to the next instruction still skips over them.
    const jump = { ...item }
    const trampolines: Item[] = []
    if (trueFar) {
      jump.onTrue = newLabel()
      trampolines.push({ type: 'label', label: jump.onTrue }, { type: 'goto', target: item.onTrue })
    }
    if (falseFar) {
      jump.onFalse = newLabel()
      trampolines.push({ type: 'label', label: jump.onFalse }, { type: 'goto', target: item.onFalse })
    }
    result.push(jump, ...trampolines)
  })
  return result ?? items
}

function emit(items: readonly Item[], positions: Map<number, number>): BpfInstruction[] {
  const program: BpfInstruction[] = []
  for (const item of items) {
    const position = program.length
    if (item.type === 'plain') program.push({ code: item.code, jt: 0, jf: 0, k: item.k })
    else if (item.type === 'goto') program.push({ code: bpf.ja, jt: 0, jf: 0, k: offsetTo(item.target, position, positions) })
    else if (item.type === 'jump') {
      program.push({
        code: item.code,
        jt: offsetTo(item.onTrue, position, positions),
        jf: offsetTo(item.onFalse, position, positions),
        k: item.k,
      })
    }
  }
  return program
}
