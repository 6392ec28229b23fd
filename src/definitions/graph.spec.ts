import { describe, expect, it } from 'vitest';
import { findCycles } from './graph.js';

describe('findCycles', () => {
  it('finds nothing in a graph without cycles, whatever the order of nodes', () => {
    expect(findCycles([[1, 2], [3], [3], []])).toEqual([]);
    expect(findCycles([[], [0], [0, 1]])).toEqual([]);
  });

  it('reports each cycle once, at the edge that closes it, in search order', () => {
    // 0 -> 2 -> 1 -> 0, and 3 -> 3.
    expect(findCycles([[2], [0], [1], [3]])).toEqual([
      { path: [0, 2, 1, 0], from: 1, edge: 0 },
      { path: [3, 3], from: 3, edge: 0 },
    ]);
  });

  it('keeps edge indexes aligned across edges to nothing', () => {
    expect(findCycles([[undefined, 1], [undefined, undefined, 0]])).toEqual([{ path: [0, 1, 0], from: 1, edge: 2 }]);
  });

  it('does not report a node reached twice without a cycle', () => {
    expect(findCycles([[1, 2], [2], []])).toEqual([]);
  });

  it('handles a chain far longer than the call stack allows', () => {
    const size = 200_000;
    const chain = Array.from({ length: size }, (_, n) => (n + 1 < size ? [n + 1] : [0]));
    const [cycle] = findCycles(chain);
    expect(cycle?.path.length).toBe(size + 1);
    expect(cycle?.from).toBe(size - 1);
  });
});
