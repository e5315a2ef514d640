export { DetectionEngine, type EngineOptions, type Trigger } from "./engine.ts";
export {
  compileExpression,
  compileFilter,
  fieldsRead,
  pinnedTypes,
  type Compiled,
} from "./expression.ts";
export { BUILTIN_FIELDS, accessor } from "./fields.ts";
export {
  BUILTIN_SCENARIO_DIR,
  compileScenario,
  loadScenarioDirs,
  parseScenarios,
  ScenarioSchema,
  type CompiledScenario,
  type ScenarioDefinition,
  type ScenarioLoad,
} from "./scenario.ts";
