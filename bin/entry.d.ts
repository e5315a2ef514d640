/** Node's flags for every `rempart` command (see entry.js). */
export const NODE_FLAGS: readonly string[];
/** True when dist/ was built after the last change to any source file. */
export function buildIsFresh(): boolean;
/** The URL of a module under src/ as the `rempart` command would load it (see entry.js). */
export function entry(module: string, fresh?: boolean): string;
