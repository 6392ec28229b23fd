import { DiagnosticBag, SourcePos, didYouMean } from './diagnostics.js';
import type { DefinitionsDraft } from './draft.js';
import { checkModelRef, parseModelRef } from './model-ref.js';
import type { PolicyRule } from './model.js';
import type { Locator, ModelPath } from './positions.js';

/**
 * Policies: `policy "n" { deny model X  allow model Y  require secret Z }`, checked on the
 * definitions that will be served (after the chosen environment is applied), at every load.
 *
 * Resources, and the uses of each that a rule is matched against:
 * - `model`: each entry of an agent's `model`/`models`, compared as written, without its
 *   provider prefix (`anthropic/claude-x` → `claude-x`) and in its canonical `provider/id`
 *   form (`gpt-4o` → `openai/gpt-4o`), so a rule catches a model however it is spelled.
 * - `skill`: each `uses skill` of an agent.
 * - `secret`: each declared `secret` block.
 * - `command`: the binary of each `tool command` skill, as written and by its file name.
 *
 * Subjects: a name; a trailing `*` makes it a prefix (`gpt-*`); `*` alone matches everything.
 * - `deny` refuses every matching use: an error at the use, naming the policy and the rule.
 * - `allow` exempts matching uses from every deny of any policy, so `deny model *` with
 *   `allow model gpt-4o` is an allowlist. Alone it has no effect.
 * - `require secret N` is an error when no `secret` block matches N.
 * - Any other `require` (upstream's `require pinned imports`, `require signed packages`)
 *   cannot be verified by this runtime and is refused rather than passed unchecked.
 */

export const POLICY_RESOURCES = ['model', 'skill', 'secret', 'command'] as const;
type Resource = (typeof POLICY_RESOURCES)[number];

interface Use {
  resource: Resource;
  /** How the use is named in messages: `model "gpt-4o" of agent "support"`. */
  label: string;
  /** The spellings a subject is matched against. */
  names: string[];
  path: ModelPath;
}

interface CheckedRule {
  rule: PolicyRule;
  policy: string;
  path: ModelPath;
}

/** A policy problem: where, what, and how to fix it. */
export interface PolicyViolation {
  path: ModelPath;
  message: string;
  hints: string[];
}

function ruleText(rule: PolicyRule): string {
  return `${rule.action} ${rule.resource}${rule.subject === '' ? '' : ` ${rule.subject}`}`;
}

export function subjectMatches(subject: string, name: string): boolean {
  if (subject === '*') return true;
  if (subject.endsWith('*')) return name.startsWith(subject.slice(0, -1));
  return subject === name;
}

function modelNames(written: string): string[] {
  const names = [written];
  const slash = written.indexOf('/');
  if (slash >= 0) names.push(written.slice(slash + 1));
  if (checkModelRef(written) === undefined) names.push(parseModelRef(written).ref);
  return names;
}

function usesOf(d: DefinitionsDraft): Use[] {
  const uses: Use[] = [];
  d.agents.forEach((a, i) => {
    const owner = `agent "${a.name}"`;
    if (a.models !== undefined) {
      a.models.forEach((m, j) =>
        uses.push({ resource: 'model', label: `model "${m}" of ${owner}`, names: modelNames(m), path: ['agents', i, 'models', j] }),
      );
    } else if (a.model !== undefined) {
      uses.push({ resource: 'model', label: `model "${a.model}" of ${owner}`, names: modelNames(a.model), path: ['agents', i, 'model'] });
    }
    a.skills.forEach((s, j) =>
      uses.push({ resource: 'skill', label: `skill "${s}" used by ${owner}`, names: [s], path: ['agents', i, 'skills', j] }),
    );
  });
  d.secrets.forEach((s, i) =>
    uses.push({ resource: 'secret', label: `secret "${s.name}"`, names: [s.name], path: ['secrets', i, 'name'] }),
  );
  d.skills.forEach((s, i) => {
    if (s.tool?.type !== 'command' || s.tool.binary === undefined) return;
    const binary = s.tool.binary;
    const names = [binary, binary.slice(binary.lastIndexOf('/') + 1)];
    uses.push({ resource: 'command', label: `command "${binary}" of skill "${s.name}"`, names, path: ['skills', i, 'tool', 'binary'] });
  });
  return uses;
}

/**
 * Checks the rules themselves and returns the ones that can be applied; the others are
 * reported (an unknown resource type, an empty or malformed subject, an unverifiable require).
 */
function checkedRules(d: DefinitionsDraft, problems: PolicyViolation[]): CheckedRule[] {
  const rules: CheckedRule[] = [];
  d.policies.forEach((p, i) => {
    p.rules.forEach((rule, j) => {
      const path: ModelPath = ['policies', i, 'rules', j];
      const ctx = `policy "${p.name}"`;
      if (rule.action === 'require' && rule.resource !== 'secret') {
        problems.push({
          path,
          message: `${ctx} requires "${ruleText(rule).slice('require '.length)}", which this runtime cannot verify`,
          hints: ['remove the rule: only "require secret <name>" is checked here, and an unchecked rule is refused rather than passed'],
        });
        return;
      }
      if (!(POLICY_RESOURCES as readonly string[]).includes(rule.resource)) {
        problems.push({
          path: [...path, 'resource'],
          message: `unknown resource type "${rule.resource}" in ${ctx}`,
          hints: [didYouMean(rule.resource, POLICY_RESOURCES) ?? `resource types: ${POLICY_RESOURCES.join(', ')}`],
        });
        return;
      }
      if (rule.subject === '') {
        problems.push({
          path,
          message: `the rule "${ruleText(rule)}" of ${ctx} names no ${rule.resource}`,
          hints: [`write: ${rule.action} ${rule.resource} "name"`],
        });
        return;
      }
      if (rule.subject.slice(0, -1).includes('*')) {
        problems.push({
          path: [...path, 'subject'],
          message: `"*" may only end the subject of a rule, in "${ruleText(rule)}" of ${ctx}`,
          hints: ['write a prefix such as "gpt-*", or "*" for everything'],
        });
        return;
      }
      rules.push({ rule, policy: p.name, path });
    });
  });
  return rules;
}

/** Every policy problem of `d`, in policy order then use order. */
export function policyViolations(d: DefinitionsDraft, loc: Locator, describePos: (p: SourcePos) => string): PolicyViolation[] {
  const problems: PolicyViolation[] = [];
  if (d.policies.length === 0) return problems;
  const rules = checkedRules(d, problems);
  const allows = rules.filter((r) => r.rule.action === 'allow');
  const uses = usesOf(d);
  for (const r of rules) {
    const { rule } = r;
    const ruleAt = `the rule is at ${describePos(loc.at(r.path))}`;
    if (rule.action === 'require') {
      const declared = d.secrets.map((s) => s.name);
      if (!declared.some((name) => subjectMatches(rule.subject, name))) {
        problems.push({
          path: [...r.path, 'subject'],
          message: `policy "${r.policy}" requires secret "${rule.subject}", which is not declared`,
          hints: [didYouMean(rule.subject, declared) ?? `declare it: secret "${rule.subject}" { env(NAME) }`],
        });
      }
      continue;
    }
    if (rule.action !== 'deny') continue;
    for (const use of uses) {
      if (use.resource !== rule.resource || !use.names.some((n) => subjectMatches(rule.subject, n))) continue;
      const allowed = allows.some((a) => a.rule.resource === use.resource && use.names.some((n) => subjectMatches(a.rule.subject, n)));
      if (allowed) continue;
      problems.push({ path: use.path, message: `${use.label} is denied by policy "${r.policy}" (${ruleText(rule)})`, hints: [ruleAt] });
    }
  }
  return problems;
}

/** Reports every policy problem of `d` as an error. */
export function checkPolicies(d: DefinitionsDraft, loc: Locator, diags: DiagnosticBag, describePos: (p: SourcePos) => string): void {
  for (const v of policyViolations(d, loc, describePos)) diags.error(loc.at(v.path), v.message, ...v.hints);
}
