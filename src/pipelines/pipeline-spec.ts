import type { Pipeline } from '../definitions/index.js';
import type { PipelineSpec } from './pipeline-graph.js';

/** The definitions' pipeline as the engine takes it. */
export function toSpec(pipeline: Pipeline): PipelineSpec {
  return {
    name: pipeline.name,
    steps: pipeline.steps.map((step) => ({
      name: step.name,
      agent: step.agent,
      input: step.input,
      depends_on: step.depends_on,
      when: step.when,
      parallel: step.parallel,
    })),
  };
}
