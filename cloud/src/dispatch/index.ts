export * from './types.js';
export { isTerminal, transitionProblem, TERMINAL_STATES } from './lifecycle.js';
export { SignCatalogue, validateForScreens, renderFor, type ContentInput, type ContentProblem } from './content.js';
export { listScreens, resolveTargets, screenKey, SCREEN_KIND, TargetError, type Screen } from './screens.js';
export { LiveHub, LIVE_PATH, LIVE_TOPICS, type LiveEvent, type LiveTopic } from './live.js';
export {
  Dispatcher,
  MessageRequestError,
  MessageStateError,
  DEFAULT_OPERATOR_PRIORITY,
  signMessage,
  type NewMessageRequest,
  type MessageOrigin,
} from './dispatcher.js';
export { GuidanceEngine, DEFAULT_GUIDANCE_PRIORITY, DEFAULT_HOLD_S, ProposalNotFoundError, ruleActor } from './guidance.js';
export { startDispatch, DEFAULT_SWEEP_INTERVAL_MS, type DispatchService } from './service.js';
