import { useId } from 'react';
import { layoutSteps } from '../dag';
import type { PipelineSummary, RunStatus } from '../types';
import { formatDuration } from './common';

const NODE_WIDTH = 168;
const NODE_HEIGHT = 64;
const GAP_X = 56;
const GAP_Y = 20;
const PAD = 8;

/** The run's steps as a graph, each with its live status and time; the step table beside it says the same in text. */
export function RunGraph({ pipeline, status }: { pipeline: PipelineSummary; status?: RunStatus }) {
  const id = useId();
  const layout = layoutSteps(pipeline.steps);
  const position = new Map(layout.steps.map((step) => [step.name, step]));
  const x = (layer: number) => PAD + layer * (NODE_WIDTH + GAP_X);
  const y = (row: number) => PAD + row * (NODE_HEIGHT + GAP_Y);
  const width = PAD * 2 + layout.layers * NODE_WIDTH + Math.max(0, layout.layers - 1) * GAP_X;
  const height = PAD * 2 + layout.rows * NODE_HEIGHT + Math.max(0, layout.rows - 1) * GAP_Y;
  const stepStatus = (name: string) => status?.steps.find((step) => step.name === name);
  return (
    <div className="graph">
      <svg viewBox={`0 0 ${width} ${height}`} width={width} height={height} role="img" aria-labelledby={`${id}-title ${id}-desc`}>
        <title id={`${id}-title`}>Steps of {pipeline.name}</title>
        <desc id={`${id}-desc`}>
          {pipeline.steps
            .map(
              (step) =>
                `${step.name}: ${stepStatus(step.name)?.status ?? 'pending'}${step.depends_on.length ? `, after ${step.depends_on.join(' and ')}` : ''}`,
            )
            .join('; ')}
        </desc>
        <defs>
          <marker id={`${id}-arrow`} viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" className="edge-head" />
          </marker>
        </defs>
        {layout.edges.map((edge) => {
          const from = position.get(edge.from)!;
          const to = position.get(edge.to)!;
          const x1 = x(from.layer) + NODE_WIDTH;
          const y1 = y(from.row) + NODE_HEIGHT / 2;
          const x2 = x(to.layer);
          const y2 = y(to.row) + NODE_HEIGHT / 2;
          const bend = (x2 - x1) / 2;
          return (
            <path
              key={`${edge.from}-${edge.to}`}
              className="edge"
              d={`M ${x1} ${y1} C ${x1 + bend} ${y1}, ${x2 - bend} ${y2}, ${x2} ${y2}`}
              markerEnd={`url(#${id}-arrow)`}
            />
          );
        })}
        {layout.steps.map((step) => {
          const live = stepStatus(step.name);
          const state = live?.status ?? 'pending';
          const agent = pipeline.steps.find((candidate) => candidate.name === step.name)?.agent;
          return (
            <g
              key={step.name}
              className={`node node-${state}`}
              transform={`translate(${x(step.layer)} ${y(step.row)})`}
              data-step={step.name}
              data-status={state}
            >
              <rect width={NODE_WIDTH} height={NODE_HEIGHT} rx="8" />
              <text x="10" y="20" className="node-name">
                {clip(step.name)}
              </text>
              <text x="10" y="38" className="node-agent">
                {clip(agent ?? '')}
              </text>
              <text x="10" y="56" className="node-state">
                {state}
                {live?.duration_ms !== null && live?.duration_ms !== undefined ? ` · ${formatDuration(live.duration_ms)}` : ''}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}

/** Names longer than a node is wide are cut; the table beside the graph has them whole. */
function clip(text: string): string {
  return text.length > 20 ? `${text.slice(0, 19)}…` : text;
}
