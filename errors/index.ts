// The error base every layer derives from (sandbox, verifier, contracts, node): one shape, one code
// table per class, and the helpers that read any thrown value without a cast.
export { errorCodeOf } from './errorCodeOf.ts'
export { errorMessageOf } from './errorMessageOf.ts'
export { shortMessageOf } from './shortMessageOf.ts'
export { type ErrorCodeInfo, type ErrorCodeTable, hostError, SandrunError, type SandrunErrorParameters } from './sandrunError.ts'
export { walkError } from './walkError.ts'
