/** A cycle found by `findCycles`. */
export interface Cycle {
  /** Node indexes around the cycle, starting and ending with the same node. */
  path: number[];
  /** The node whose edge closes the cycle, and that edge's index in its list. */
  from: number;
  edge: number;
}

/**
 * Every cycle of a directed graph that a depth-first search meets, visiting nodes and their
 * edges in order: each edge back to a node still being visited closes one cycle. `edges[n]`
 * lists the targets of node n; undefined entries (edges to nothing, reported elsewhere) keep
 * the indexes of the others aligned with where they were written. Iterative, so a long
 * chain of steps cannot exhaust the stack.
 */
export function findCycles(edges: readonly (readonly (number | undefined)[])[]): Cycle[] {
  const NEW = 0;
  const OPEN = 1;
  const DONE = 2;
  const state = new Uint8Array(edges.length);
  const cycles: Cycle[] = [];
  const stack: number[] = [];
  const nextEdge: number[] = [];
  for (let root = 0; root < edges.length; root++) {
    if (state[root] !== NEW) continue;
    state[root] = OPEN;
    stack.push(root);
    nextEdge.push(0);
    while (stack.length > 0) {
      const top = stack.length - 1;
      const node = stack[top];
      const edge = nextEdge[top]++;
      if (edge >= edges[node].length) {
        state[node] = DONE;
        stack.pop();
        nextEdge.pop();
        continue;
      }
      const target = edges[node][edge];
      if (target === undefined) continue;
      if (state[target] === OPEN) {
        cycles.push({ path: [...stack.slice(stack.indexOf(target)), target], from: node, edge });
      } else if (state[target] === NEW) {
        state[target] = OPEN;
        stack.push(target);
        nextEdge.push(0);
      }
    }
  }
  return cycles;
}
