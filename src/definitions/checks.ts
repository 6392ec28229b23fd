import { DiagnosticBag, type SourcePos } from './diagnostics.js';
import type { DefinitionsDraft } from './draft.js';
import { applyOverlays, checkOverrides, overlaidCopy, reportUnknownEnvironment, type EnvironmentOverlays } from './environments.js';
import { reportNoEffect } from './no-effect.js';
import { checkPolicies } from './policies.js';
import type { Locator } from './positions.js';
import { validateDraft, type ValidateOptions } from './validator.js';

export interface CheckOptions extends ValidateOptions {
  /** The environment to apply; undefined serves the base values. */
  environment?: string;
  /** Where a problem with the load itself (an unknown environment) is reported. */
  entry: SourcePos;
}

/**
 * Every check of a draft, in order: environment overrides, the chosen environment applied
 * (so the rest sees the values that will be served), the validator, policies, and the
 * warnings for what has no effect here. Without a chosen environment, each declared one is
 * also checked as if chosen, and what would refuse it is reported as a warning.
 */
export function checkDefinitions(draft: DefinitionsDraft, loc: Locator, diags: DiagnosticBag, options: CheckOptions): void {
  const overlays = checkOverrides(draft, loc, diags);
  let active = loc;
  if (options.environment !== undefined) {
    const index = draft.environments.findIndex((e) => e.name === options.environment);
    if (index < 0) {
      reportUnknownEnvironment(draft, options.environment, options.entry, diags);
    } else {
      active = applyOverlays(draft, index, overlays[index], loc);
      draft.environment = options.environment;
    }
  }
  validateDraft(draft, active, diags, options);
  checkPolicies(draft, active, diags, options.describePos);
  reportNoEffect(draft, active, diags);
  if (options.environment === undefined) previewEnvironments(draft, overlays, loc, diags, options);
}

/** Checks each environment's overlay; its errors that the base does not have become warnings. */
function previewEnvironments(
  draft: DefinitionsDraft,
  overlays: EnvironmentOverlays,
  loc: Locator,
  diags: DiagnosticBag,
  options: ValidateOptions,
): void {
  const key = (d: { file: string; line: number; column: number; message: string }): string =>
    `${d.file}:${d.line}:${d.column}:${d.message}`;
  const known = new Set(diags.items.filter((d) => d.severity === 'error').map(key));
  draft.environments.forEach((env, e) => {
    if (overlays[e].length === 0) return;
    const overlaid = overlaidCopy(draft, e, overlays[e], loc);
    const bag = new DiagnosticBag();
    validateDraft(overlaid.draft, overlaid.loc, bag, options);
    checkPolicies(overlaid.draft, overlaid.loc, bag, options.describePos);
    for (const d of bag.items) {
      if (d.severity !== 'error' || known.has(key(d))) continue;
      diags.warning(d, `starting with AGENTSPEC_ENVIRONMENT=${env.name} would be refused: ${d.message}`, ...d.hints);
    }
  });
}
