export { MAX_DELEGATION_DEPTH } from './delegation-checks.js';
export {
  CONFIG_FILE_SUFFIX,
  CONFIG_PREFIX,
  CONFIG_TYPES,
  configVariableName,
  expectedConfigValue,
  parseConfigValue,
  type ConfigValue,
} from './config-params.js';
export { formatDiagnostics, type Diagnostic, type Severity, type SourcePos } from './diagnostics.js';
export {
  checkExpression,
  checkWhen,
  compileExpression,
  ExpressionSyntaxError,
  MAX_EXPRESSION_DEPTH,
  MAX_EXPRESSION_LENGTH,
  MAX_LIST_LENGTH,
  MAX_TEXT_LENGTH,
  parseWhen,
  truthy,
  valueToText,
  WhenExpression,
  WhenSyntaxError,
  type CompiledExpression,
  type CompileOptions,
  type ExprContext,
  type ExpressionPlace,
  type ExprSession,
  type ExprValue,
  type WhenContext,
  type WhenStepStatus,
  type WhenValue,
} from './expressions.js';
export { findCycles, type Cycle } from './graph.js';
export { DEFINITIONS_SCHEMA } from './json-schema.js';
export { loadDefinitions, memorySourceHost, nodeSourceHost, type LoadOptions, type LoadResult, type SourceHost } from './loader.js';
export * from './model.js';
export {
  checkModelRef,
  InvalidModelError,
  MODEL_USAGE,
  modelRefProblem,
  parseMockModel,
  parseModelRef,
  PROVIDER_NAMES,
  type MockFailure,
  type MockModelSpec,
  type ModelRef,
  type ProviderName,
} from './model-ref.js';
export { placeholderAt, placeholders, render, stepInputKey, stepInputReferences, type Placeholder } from './template.js';
export { parseDuration, parseSize } from './units.js';
