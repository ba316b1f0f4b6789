/**
 * A c2sp.org/tlog-witness server: it cosigns the checkpoints of the logs it is configured for,
 * each consistent with the last one it cosigned, state kept durably per log.
 */
export {
  DEFAULT_WITNESS_BODY_LIMIT,
  DEFAULT_WITNESS_PORT,
  loadWitnessConfig,
  resolveWitnessConfig,
  type WitnessConfig,
} from './config.js';
export { createWitnessKey, loadWitnessKey, witnessVerifierKey } from './key.js';
export { parseAddCheckpoint, MAX_PROOF_LINES, type AddCheckpointRequest } from './request.js';
export { WitnessStateStore, originHash, type OriginState } from './state.js';
export { Witness, type WitnessDeps } from './witness.js';
export { buildWitnessApp, serveWitness, type ServedWitness, type WitnessApp } from './app.js';
export {
  gatherWitnessed,
  witnessedForVerify,
  type GatherOptions,
  type WitnessedCheckpoint,
} from './witnessed.js';
export {
  WitnessClient,
  type WitnessClientDeps,
  type WitnessChannelStatus,
  type CosignatureStore,
} from './client.js';
