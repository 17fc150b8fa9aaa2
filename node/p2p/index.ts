// The libp2p layer of the open network (docs/network.md, "The flow"): the host, the stream protocols (bundle,
// result, logs) and the gossip topics (job announcements, worker heartbeats). Business logic uses
// these services and never touches a stream.
//
// How to use (entry points import '../promiseWithResolvers.ts' first: Node 20 lacks it):
//
//   const host = await createHost({ dataDir, listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap, dht: 'client' })
//   // host.peerId is the worker key's peer id; host.multiaddrs() are what announcements list as providers.
//
//   // Serving side (worker / gateway): pass callbacks, start(); stop() on shutdown.
//   const bundles = bundleService({ getBundle: (sha256) => store.get(sha256) })(host.libp2p)
//   const results = resultService({ getResult: (jobId) => results.get(jobId) })(host.libp2p)
//   const logs = logsService({ openLogs: (jobId, signal) => feeds.get(jobId)?.subscribe(signal) })(host.libp2p)
//   await Promise.all([bundles.start(), results.start(), logs.start()])
//   // The worker writes each job's output into a LogFeed: feed.append('stdout', bytes) ... feed.end(status)
//
//   // Fetching side: every call takes { signal, timeoutMs } and throws P2pError; error.penalize = the peer lied.
//   const { data } = await bundles.fetch({ peer: providerMultiaddr, sha256, expectedSize, onProgress })
//   const result = await results.fetch({ peer, jobId }); checkResultFiles(result)  // then root vs chain
//   for await (const event of logs.follow({ peer, jobId })) { /* chunk | gap | end */ }
//
//   // Gossip (a hint: check the chain before acting):
//   const jobs = jobAnnouncements({ deployment: { chainId, market }, validateOnChain, onAnnouncement })(host.libp2p.services.pubsub)
//   jobs.start(); await jobs.announce({ jobId, specHash, bundleSha256, bundleSize, providers: host.multiaddrs() })
//   const beats = workerHeartbeats({ deployment })(host.libp2p.services.pubsub, host.peerId)
//   beats.start(); await beats.beat({ address, capabilities, environments, load })  // every ~10 s
//   beats.workersSeen.list()  // feeds GET /pool
//
//   await host.stop()
export { bundleService, defaultBundleOptions } from './bundleService.ts'
export type { BundleService, BundleServiceInit, FetchBundleParameters, FetchBundleReturnType } from './bundleService.ts'
export { checkResultFiles } from './checkResultFiles.ts'
export type { CheckResultFilesParameters } from './checkResultFiles.ts'
export { createConnectionGater, isPrivateIp } from './connectionGater.ts'
export { createHost, defaultHostOptions } from './createHost.ts'
export type { CreateHostParameters, SandrunHost, SandrunLibp2p, SandrunServices } from './createHost.ts'
export { jobsTopic, workersTopic } from './deploymentTopics.ts'
export type { Deployment } from './deploymentTopics.ts'
export type { PeerTarget } from './dialTarget.ts'
export { P2pError } from './errors.ts'
export type { P2pErrorCode, P2pErrorParameters } from './errors.ts'
export type { GossipInvalidMessage } from './gossipChannel.ts'
export { gossipInternals, sandrunTopicScoreParams } from './gossipScoring.ts'
export { defaultJobAnnouncementOptions, jobAnnouncements, parseJobAnnouncement } from './jobAnnouncements.ts'
export type { AnnounceParameters, JobAnnouncement, JobAnnouncementsInit, JobAnnouncementsService, OnChainVerdict } from './jobAnnouncements.ts'
export { defaultLogFeedOptions, LogFeed } from './logFeed.ts'
export type { LogEvent, LogFeedOptions } from './logFeed.ts'
export { defaultLogsOptions, logsService } from './logsService.ts'
export type { FollowLogsParameters, LogsService, LogsServiceInit } from './logsService.ts'
export { loadNodeKey, nodeKeyFileName } from './nodeKey.ts'
export type { LoadNodeKeyParameters, LoadNodeKeyReturnType } from './nodeKey.ts'
export { bundleProtocol, logsProtocol, resultProtocol } from './protocols.ts'
export type { P2pNode } from './protocolStreams.ts'
export { defaultExecOptions, execService } from './execService.ts'
export type { ExecOutcome, ExecResult, ExecRunParameters, ExecService } from './execService.ts'
export { defaultResultOptions, resultService } from './resultService.ts'
export type { FetchResultParameters, FetchResultReturnType, JobResultPayload, ResultEntrySummary, ResultService, ResultServiceInit } from './resultService.ts'
export { defaultHeartbeatOptions, parseWorkerHeartbeat, workerHeartbeats } from './workerHeartbeats.ts'
export type { HeartbeatParameters, WorkerHeartbeatsInit, WorkerHeartbeatsService } from './workerHeartbeats.ts'
export type { WorkerHeartbeat } from './workersSeen.ts'
export { defaultWorkersSeenOptions, WorkersSeen } from './workersSeen.ts'
export type { SeenWorker, WorkersSeenOptions } from './workersSeen.ts'
