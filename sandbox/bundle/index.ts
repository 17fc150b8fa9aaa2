// Public surface of bundle handling alone (pack, read), for code that must not load the whole
// sandbox: the REST client and the CLI's submit path only pack a folder into a tar.gz.
export { packDirectory } from './packDirectory.ts'
export { packFiles, type PackFileContent } from './packFiles.ts'
export { readBundle, type InflationMeter } from './readBundle.ts'
