// Classic BPF as seccomp uses it: the opcodes we emit, the `seccomp_data` layout and the byte
// encoding bwrap's `--seccomp FD` reads (a raw `struct sock_filter` array, 8 bytes each,
// little-endian: u16 code, u8 jt, u8 jf, u32 k).
import { SeccompError } from './seccompError.ts'

export type BpfInstruction = {
  code: number
  /** Forward offset (0-255) taken when a conditional jump is true. */
  jt: number
  /** Forward offset (0-255) taken when a conditional jump is false. */
  jf: number
  k: number
}

/** Opcode parts from linux/bpf_common.h, limited to what a seccomp filter may use. */
export const bpf = {
  ldWAbs: 0x00 | 0x00 | 0x20, // BPF_LD | BPF_W | BPF_ABS
  aluAndK: 0x04 | 0x50 | 0x00, // BPF_ALU | BPF_AND | BPF_K
  ja: 0x05 | 0x00, // BPF_JMP | BPF_JA
  jeqK: 0x05 | 0x10 | 0x00, // BPF_JMP | BPF_JEQ | BPF_K
  jgtK: 0x05 | 0x20 | 0x00,
  jgeK: 0x05 | 0x30 | 0x00,
  jsetK: 0x05 | 0x40 | 0x00,
  retK: 0x06 | 0x00, // BPF_RET | BPF_K
} as const

/** Return values from linux/seccomp.h; the low 16 bits carry data (the errno for ERRNO). */
export const seccompRet = {
  killProcess: 0x80000000,
  killThread: 0x00000000,
  trap: 0x00030000,
  errno: 0x00050000,
  trace: 0x7ff00000,
  log: 0x7ffc0000,
  allow: 0x7fff0000,
  actionFullMask: 0xffff0000,
  dataMask: 0x0000ffff,
} as const

export const auditArchX86_64 = 0xc000003e

/** x32 system calls are x86_64 numbers with this bit set; they would dodge a table built for x86_64. */
export const x32SyscallBit = 0x40000000

/** The kernel refuses longer programs (BPF_MAXINSNS). */
export const bpfMaxInstructions = 4096

/**
 * Byte offsets into `struct seccomp_data { int nr; u32 arch; u64 instruction_pointer; u64 args[6]; }`.
 * A BPF load is 32 bits wide, so each 64-bit argument is read as two halves (x86_64 is little-endian).
 */
export const seccompData = {
  size: 64,
  nr: 0,
  arch: 4,
  instructionPointer: 8,
  argLow: (index: number): number => 16 + 8 * index,
  argHigh: (index: number): number => 20 + 8 * index,
} as const

const instructionSize = 8

export function encodeBpfProgram(program: readonly BpfInstruction[]): Buffer {
  const bytes = Buffer.alloc(program.length * instructionSize)
  program.forEach((instruction, index) => {
    const offset = index * instructionSize
    bytes.writeUInt16LE(instruction.code, offset)
    bytes.writeUInt8(instruction.jt, offset + 2)
    bytes.writeUInt8(instruction.jf, offset + 3)
    bytes.writeUInt32LE(instruction.k >>> 0, offset + 4)
  })
  return bytes
}

export function decodeBpfProgram(bytes: Uint8Array): BpfInstruction[] {
  if (bytes.byteLength % instructionSize !== 0) {
    throw new SeccompError(
      'SECCOMP_INVALID_PROGRAM',
      `A BPF program is a whole number of 8-byte instructions; got ${bytes.byteLength} bytes. Pass the file written by writeSeccompFilter().`,
    )
  }
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const program: BpfInstruction[] = []
  for (let offset = 0; offset < buffer.length; offset += instructionSize) {
    program.push({
      code: buffer.readUInt16LE(offset),
      jt: buffer.readUInt8(offset + 2),
      jf: buffer.readUInt8(offset + 3),
      k: buffer.readUInt32LE(offset + 4),
    })
  }
  return program
}
