// The verifier's chain side: read a market job through any viem public client and report what the
// chain says (no gateway, no worker, no key needed). Only contracts/ and viem are imported.
export { jobReportJson } from './jobReportJson.ts'
export type { ChainStepJson, JobReportJson } from './jobReportJson.ts'
export { readJobEvents } from './readJobEvents.ts'
export type { MarketJobEvent, ReadJobEventsParameters } from './readJobEvents.ts'
export { isOpenStatus, jobStatuses, readMarketJob } from './readMarketJob.ts'
export { readJobSpecHash } from './readJobSpecHash.ts'
export type { ReadJobSpecHashParameters } from './readJobSpecHash.ts'
export type { JobStatusName, MarketJob, ReadMarketJobParameters } from './readMarketJob.ts'
export { readMarketSlots, slotOutcomes } from './readMarketSlots.ts'
export type { MarketSlot, ReadMarketSlotsParameters, SlotOutcomeName } from './readMarketSlots.ts'
export { consensusRootOf, verifyJob } from './verifyJob.ts'
export type { ChainStep, JobVerdictCode, VerifiedSlot, VerifyJobParameters, VerifyJobReturnType } from './verifyJob.ts'
