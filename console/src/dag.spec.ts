import { describe, expect, it } from 'vitest';
import { layoutSteps } from './dag';

describe('layoutSteps', () => {
  it('puts each step one layer after its deepest dependency, rows in definition order', () => {
    const layout = layoutSteps([
      { name: 'fetch', depends_on: [] },
      { name: 'left', depends_on: ['fetch'] },
      { name: 'right', depends_on: ['fetch'] },
      { name: 'side', depends_on: [] },
      { name: 'merge', depends_on: ['left', 'right', 'side'] },
    ]);
    expect(layout.steps).toEqual([
      { name: 'fetch', layer: 0, row: 0 },
      { name: 'left', layer: 1, row: 0 },
      { name: 'right', layer: 1, row: 1 },
      { name: 'side', layer: 0, row: 1 },
      { name: 'merge', layer: 2, row: 0 },
    ]);
    expect(layout.layers).toBe(3);
    expect(layout.rows).toBe(2);
    expect(layout.edges).toContainEqual({ from: 'side', to: 'merge' });
    expect(layout.edges).toHaveLength(5);
  });

  it('ignores unknown dependencies and survives a cycle', () => {
    const layout = layoutSteps([
      { name: 'a', depends_on: ['ghost', 'b'] },
      { name: 'b', depends_on: ['a'] },
    ]);
    expect(layout.edges).toEqual([
      { from: 'b', to: 'a' },
      { from: 'a', to: 'b' },
    ]);
    expect(layout.steps.map((step) => step.layer)).toEqual([2, 1]);
  });
});
