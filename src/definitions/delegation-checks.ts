import type { DiagnosticBag } from './diagnostics.js';
import type { DefinitionsDraft } from './draft.js';
import { findCycles } from './graph.js';
import type { OnInputStatement } from './model.js';
import type { Locator, ModelPath } from './positions.js';

/** Agents handing a call on to agents: at most this many in a row (docs/agents.md "Delegation"). */
export const MAX_DELEGATION_DEPTH = 3;

interface Edge {
  target: number | undefined;
  /** Where the hand-over is written. */
  path: ModelPath;
}

function onInputDelegates(statements: readonly OnInputStatement[] | undefined, out: string[] = []): string[] {
  for (const statement of statements ?? []) {
    if (statement.kind === 'delegate') out.push(statement.agent);
    else if (statement.kind === 'if') {
      for (const branch of statement.branches) onInputDelegates(branch.body, out);
      onInputDelegates(statement.else, out);
    } else if (statement.kind === 'for_each') onInputDelegates(statement.body, out);
  }
  return out;
}

/**
 * Delegation (`delegate to agent "x" when "…"` and `on input { delegate to x }`) must not loop
 * back to an agent already handing the call on, and a chain is at most MAX_DELEGATION_DEPTH
 * hand-overs long. Unknown targets are reported by the reference checks.
 */
export function checkDelegation(d: DefinitionsDraft, loc: Locator, diags: DiagnosticBag): void {
  const index = new Map(d.agents.map((agent, i) => [agent.name, i]));
  const edges: Edge[][] = d.agents.map((agent, i) => [
    ...agent.delegates.map((delegation, j): Edge => ({ target: index.get(delegation.agent), path: ['agents', i, 'delegates', j, 'agent'] })),
    ...onInputDelegates(agent.on_input).map((name): Edge => ({ target: index.get(name), path: ['agents', i, 'on_input'] })),
  ]);
  // A delegate runs without prompt variables: its prompt must not need one.
  const prompts = new Map(d.prompts.map((prompt) => [prompt.name, prompt]));
  for (const list of edges) {
    for (const edge of list) {
      if (edge.target === undefined) continue;
      const target = d.agents[edge.target];
      const needed = (target.prompt === undefined ? undefined : prompts.get(target.prompt))?.variables.filter((variable) => variable.required && variable.default === undefined) ?? [];
      if (needed.length === 0) continue;
      diags.error(
        loc.at(edge.path),
        `agent "${target.name}" cannot be delegated to: its prompt "${target.prompt}" needs ${needed.map((v) => `"${v.name}"`).join(', ')}, and a delegate gets no prompt variables`,
        'give the variables defaults, or make them optional',
      );
    }
  }
  const cycles = findCycles(edges.map((list) => list.map((edge) => edge.target)));
  for (const cycle of cycles) {
    const names = cycle.path.map((node) => d.agents[node].name);
    diags.error(
      loc.at(edges[cycle.from][cycle.edge].path),
      `agents delegate in a circle: ${names.map((name) => `"${name}"`).join(' → ')}`,
      'a delegate must not hand the call back to an agent already handing it on',
    );
  }
  if (cycles.length > 0) return;

  // Longest chain from each agent, computed children first (no recursion: chains may be long).
  const longest = new Array<number | undefined>(d.agents.length);
  const next = new Array<number | undefined>(d.agents.length);
  for (let root = 0; root < d.agents.length; root++) {
    const stack = [root];
    while (stack.length > 0) {
      const node = stack[stack.length - 1];
      if (longest[node] !== undefined) {
        stack.pop();
        continue;
      }
      const pending = edges[node].map((edge) => edge.target).filter((t): t is number => t !== undefined && longest[t] === undefined);
      if (pending.length > 0) {
        stack.push(...pending);
        continue;
      }
      let best = 0;
      for (const edge of edges[node]) {
        if (edge.target === undefined) continue;
        const length = 1 + longest[edge.target]!;
        if (length > best) {
          best = length;
          next[node] = edge.target;
        }
      }
      longest[node] = best;
      stack.pop();
    }
  }
  d.agents.forEach((agent, i) => {
    if (longest[i]! <= MAX_DELEGATION_DEPTH) return;
    // Reported once, at the start of a longest chain: only where no agent delegates to this one with a longer chain.
    const startsChain = !d.agents.some((_, j) => edges[j].some((edge) => edge.target === i) && longest[j]! > longest[i]!);
    if (!startsChain) return;
    const chain = [agent.name];
    for (let node: number | undefined = next[i]; node !== undefined; node = next[node]) chain.push(d.agents[node].name);
    diags.error(
      loc.at(edges[i].find((edge) => edge.target === next[i])!.path),
      `delegation from agent "${agent.name}" goes ${longest[i]} agents deep (${chain.map((n) => `"${n}"`).join(' → ')}); at most ${MAX_DELEGATION_DEPTH} are allowed`,
    );
  });
}
