export type {
  TokenList,
  CommonBehaviour,
  ApnsBehaviour,
  FcmBehaviour,
  RecordedNotification,
  SimulatorStats,
  Simulator,
  ApnsSimulator,
  FcmSimulator,
  ServerOptions,
  ApnsSimulatorOptions,
  FcmSimulatorOptions,
  WebPushBehaviour,
  WebPushSimulator,
  WebPushSimulatorOptions,
  SimulatedSubscription,
  SubscribeOptions,
} from './types';
export { startApnsSimulator } from './apns';
export { startFcmSimulator } from './fcm';
export { startWebPushSimulator } from './webpush';
export { startSimulators, type StartSimulatorsOptions, type Simulators, type SimulatorsInfo } from './start';
export { simulatorOptionsFromEnv, SimulatorEnvError, SIMULATOR_ENV_VARS } from './env';
export { BehaviourError } from './settings';
