// Public surface of the verifier: result commitment (entries, root, proofs), checks of downloaded
// files and folders against a root, spec hash, environment digest and worker identity. Pure logic
// apart from the worker key file and hashing a folder; the chain side is in ./chain/index.ts.
export { canonicalJson } from './canonicalJson.ts'
// The names of a job's two output streams, as every protocol message and log record spells them.
export type { OutputStream } from '../sandbox/types.ts'
// The contract's default quorum, defined beside the manifest rules that check a quorum against it.
export { majorityQuorum } from '../sandbox/majorityQuorum.ts'
export { canonicalResultEntries, requiredResultEntryNames, resultEntry } from './canonicalResultEntries.ts'
export type { ResultEntry, ResultEntryInput } from './canonicalResultEntries.ts'
export { environmentDigest } from './environmentDigest.ts'
export type { EnvironmentDigestParameters } from './environmentDigest.ts'
export { VerifierError } from './errors.ts'
export type { VerifierErrorCode, VerifierErrorParameters } from './errors.ts'
export { bytesToHex, hexToBytes, normalizeSha256 } from './hex.ts'
export type { Hex } from './hex.ts'
export { auditPath, leafHash, mth, verifyInclusion } from './merkle.ts'
export type { VerifyInclusionParameters } from './merkle.ts'
export { hashOutputsFolder, resultReceiptName } from './hashOutputsFolder.ts'
export { exitEntryContent, resultEntries } from './resultEntries.ts'
export { parseExitEntry } from './parseExitEntry.ts'
export type { ParseExitEntryReturnType } from './parseExitEntry.ts'
export type { ResultEntriesParameters, ResultEntriesReturnType } from './resultEntries.ts'
export { resultProof, resultRoot, verifyResultFile } from './resultRoot.ts'
export type { ResultProof, VerifyResultFileParameters } from './resultRoot.ts'
export { sealResult } from './sealResult.ts'
export type { SealedResult, SignedResult } from './sealResult.ts'
export { decodeSpecDocument, specDocumentBytes } from './specDocument.ts'
export type { DecodeSpecDocumentParameters, SpecDocument } from './specDocument.ts'
export { specHash } from './specHash.ts'
export type { SpecHash } from './parseSpecHash.ts'
export { parseSpecHash } from './parseSpecHash.ts'
// The three kinds of job id, apart in the types (ARCHITECTURE.md, "Job ids").
export { gatewayJobId } from './gatewayJobId.ts'
export type { GatewayJobId } from './gatewayJobId.ts'
export { chainJobId } from './chainJobId.ts'
export type { ChainJobId } from './chainJobId.ts'
export { verifyOutputFile } from './verifyOutputFile.ts'
export type { VerifyOutputFileCode, VerifyOutputFileParameters, VerifyOutputFileReturnType } from './verifyOutputFile.ts'
export { verifyOutputs } from './verifyOutputs.ts'
export type { OutputFileDigest, OutputFileVerdict, VerifyOutputsParameters, VerifyOutputsReturnType } from './verifyOutputs.ts'
export type { SpecHashParameters } from './specHash.ts'
export {
  generateWorkerKey,
  loadWorkerKey,
  resultSignatureTag,
  saveWorkerKey,
  signResultRoot,
  verifyWorkerSignature,
  workerIdFromPublicKey,
  workerKeyFromSeed,
  workerMetadata,
} from './workerIdentity.ts'
export type { SaveWorkerKeyOptions, VerifyWorkerSignatureParameters, WorkerKey, WorkerMetadata } from './workerIdentity.ts'
export { executionReportTag, signExecutionReport } from './signExecutionReport.ts'
export type { ExecutionReport, ExecutionReportFields } from './signExecutionReport.ts'
export { verifyExecutionReport } from './verifyExecutionReport.ts'
export type { VerifyExecutionReportParameters, VerifyExecutionReportReturnType } from './verifyExecutionReport.ts'
