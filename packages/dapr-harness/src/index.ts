export { startProcess, describeExit, liveProcessCount } from './process.ts';
export type { ExitInfo, ManagedProcess, ManagedProcessOptions, StopOptions } from './process.ts';
export { startDaprd } from './daprd.ts';
export type { Daprd, DaprdOptions } from './daprd.ts';
export { freePort, freePorts, portInUse } from './ports.ts';
export { probe, waitForHttp } from './http.ts';
export type { HttpAnswer, ProbeOptions, WaitForHttpOptions } from './http.ts';
export {
  REPO_ROOT,
  PUBSUB_KINDS,
  componentsFolder,
  parseExportLines,
  parsePubsub,
  readInfraEnv,
} from './infra.ts';
export type { PubsubKind } from './infra.ts';
export { DAPR_PLATFORM_SERVICES, startDaprPlatform } from './platform.ts';
export type {
  DaprDevSecrets,
  DaprPlatform,
  DaprPlatformOptions,
  DaprPlatformService,
  DaprPlatformServiceSpec,
  RestartOptions,
  RestartTimings,
  StoppedProcess,
} from './platform.ts';
