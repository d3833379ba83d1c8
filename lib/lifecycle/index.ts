export * from "./kms-signal.js";
export * from "./operator-actions.js";
export type * from "./ports.js";
export * from "./reconcile-region.js";
export * from "./register.js";
export * from "./rotate.js";
export * from "./swap.js";
export * from "./sweep.js";
