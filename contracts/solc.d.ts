// Minimal typing for solc-js (the package ships none): only what contracts/compile.ts uses.
declare module 'solc' {
  type ImportCallback = (path: string) => { contents: string } | { error: string }
  const solc: {
    version(): string
    compile(input: string, options?: { import?: ImportCallback }): string
  }
  export default solc
}
