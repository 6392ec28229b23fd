export { formatDiagnostics, type Diagnostic, type Severity, type SourcePos } from './diagnostics.js';
export { DEFINITIONS_SCHEMA } from './json-schema.js';
export { loadDefinitions, memorySourceHost, nodeSourceHost, type LoadOptions, type LoadResult, type SourceHost } from './loader.js';
export * from './model.js';
export { parseDuration, parseSize } from './units.js';
