/** The built-in Polyv emulator: start it, sign requests for DEMO_CREDENTIALS, call it. */
export {
  CONTROL_PATH_PREFIX,
  DEMO_CREDENTIALS,
  PolyvEmulator,
  startEmulator,
  type EmulatorCall,
  type EmulatorOptions,
} from './server.js';
export {
  BIG_CHANNEL_ID,
  extraChannelIds,
  DATA_PERIOD_DAYS,
  DEFAULT_LAST_DAY,
  dataPeriod,
  demoLastDay,
  DEMO_CHANNELS,
  DEMO_USER_ID,
  FOREIGN_CHANNEL_ID,
  KNOWN_ALLOT_TYPES,
  KNOWN_PAY_TYPES,
  KNOWN_RED_PACK_STATUSES,
  KNOWN_RED_PACK_TYPES,
  UNKNOWN_ALLOT_TYPE,
  UNKNOWN_PAY_TYPE,
  UNKNOWN_RED_PACK_STATUS,
  UNKNOWN_RED_PACK_TYPE,
  createDemoDataset,
  insertIncome,
  insertReceive,
  insertRedPack,
  isClaimable,
  redPackBalanceFen,
  type DataPeriod,
  type DemoChannel,
  type DemoDataset,
  type DemoDatasetOptions,
  type DemoWechatUser,
  type EmulatedIncome,
  type EmulatedReceive,
  type EmulatedRedPack,
  type IncomeOverrides,
  type KnownPayType,
  type ReceiveOverrides,
  type RedPackOverrides,
} from './data.js';
export {
  DEFAULT_LIVE_EVERY_MS,
  MAX_LIVE_EVERY_MS,
  MIN_LIVE_EVERY_MS,
  NEW_RED_PACK_EVERY_TICKS,
  type LiveScheduleStatus,
} from './live.js';
export {
  EMULATED_ENDPOINTS,
  TIMESTAMP_TOLERANCE_MS,
  exampleParams,
  type EmulatedEndpoint,
  type EmulatorCredentials,
} from './endpoints.js';
export { FAULTS, SLOW_FAULT_DELAY_MS, type Fault } from './faults.js';
export { CONTROL_ACTIONS, MAX_FAULT_COUNT, MAX_LATENCY_MS } from './control.js';
export { POLYV_ERRORS, toPolyvIncome, toPolyvRedPack, type PolyvErrorKind } from './wire.js';
