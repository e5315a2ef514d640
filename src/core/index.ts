export * from "./clock.ts";
export * from "./decision.ts";
export * from "./duration.ts";
export * from "./errors.ts";
export * from "./event.ts";
export type * from "./ports.ts";
export * from "./recent-keys.ts";
export * from "./result.ts";
export * from "./strings.ts";
