/**
 * The categories of what a built-in scenario found, for the reports Rempart makes of its own
 * decisions. A scenario of the operator's own, unknown here, is reported with none: better no
 * label than a wrong one.
 */
const SCENARIO_CATEGORIES: readonly (readonly [RegExp, readonly number[]])[] = [
  [/^mail-(bruteforce|slow-guessing)$/, [18]],
  [/^mail-(rejects|bounce-ratio|account-|sender-|queue-)/, [11]],
  [/^http-flood$/, [4, 19]],
  [/^surge/, [19]],
  [/^guard/, [19]],
];

export function scenarioCategories(scenario: string): readonly number[] {
  for (const [pattern, categories] of SCENARIO_CATEGORIES)
    if (pattern.test(scenario)) return categories;
  return [];
}
