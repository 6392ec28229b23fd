/** A pipeline's steps placed for drawing: each step one layer right of its furthest dependency. */
export interface PlacedStep {
  name: string;
  layer: number;
  row: number;
}

export interface Layout {
  steps: PlacedStep[];
  edges: { from: string; to: string }[];
  layers: number;
  rows: number;
}

/**
 * Longest-path layering (Sugiyama's first phase): roots in layer 0, every other step in the layer
 * after its deepest dependency; within a layer, steps keep their definition order. Dependencies
 * on unknown steps are ignored, and a cycle (which the definitions refuse) cannot loop here.
 */
export function layoutSteps(steps: readonly { name: string; depends_on: readonly string[] }[]): Layout {
  const byName = new Map(steps.map((step) => [step.name, step]));
  const layerOf = new Map<string, number>();
  const visiting = new Set<string>();
  const layer = (name: string): number => {
    const known = layerOf.get(name);
    if (known !== undefined) return known;
    if (visiting.has(name)) return 0;
    visiting.add(name);
    const parents = (byName.get(name)?.depends_on ?? []).filter((parent) => byName.has(parent));
    const value = parents.length === 0 ? 0 : Math.max(...parents.map(layer)) + 1;
    visiting.delete(name);
    layerOf.set(name, value);
    return value;
  };
  const rowsUsed: number[] = [];
  const placed = steps.map((step) => {
    const at = layer(step.name);
    const row = rowsUsed[at] ?? 0;
    rowsUsed[at] = row + 1;
    return { name: step.name, layer: at, row };
  });
  return {
    steps: placed,
    edges: steps.flatMap((step) =>
      step.depends_on.filter((parent) => byName.has(parent)).map((parent) => ({ from: parent, to: step.name })),
    ),
    layers: Math.max(0, ...placed.map((step) => step.layer + 1)),
    rows: Math.max(0, ...rowsUsed),
  };
}
