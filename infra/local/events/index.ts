/** The local EventBridge stand-in: start it with `startEventBus`, match patterns with `compileEventPattern`. */
export type {
  DeadLetter,
  EventBusTarget,
  FunctionTarget,
  ReceivedEvent,
  RecorderTarget,
  RuleDefinition,
  Target,
} from "./bus.js";
export type { EventEnvelope } from "./envelope.js";
export { formatEventTime } from "./envelope.js";
export {
  EventBusError,
  InvalidEventPatternError,
  MissingAuthenticationTokenError,
  RequestTooLargeError,
  ResourceNotFoundError,
  SerializationError,
  UnknownOperationError,
  ValidationError,
} from "./errors.js";
export { type CompiledEventPattern, compileEventPattern, matchesEventPattern } from "./pattern.js";
export { DEFAULT_EVENT_BUS_NAME, PUT_EVENTS_ERROR_CODES, PUT_EVENTS_LIMITS } from "./put-events.js";
export { type EventBus, type EventBusOptions, startEventBus } from "./server.js";
