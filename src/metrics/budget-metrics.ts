import { METRIC } from './metric-names.js';

/** The budget families, registered by MetricsModule and built alike by the tests on their own registry. */
export const BUDGET_METRICS = {
  cost: {
    name: METRIC.cost,
    help: 'US dollars spent on model calls (AGENTSPEC_MODEL_PRICES and the default table), by agent and provider/model.',
    labelNames: ['agent', 'model'],
  },
  usedRatio: {
    name: METRIC.budgetUsedRatio,
    help: "Share of an agent's budget spent in the current window (1 = used up), by agent and period (daily/monthly); agents with a budget only.",
    labelNames: ['agent', 'period'],
  },
} as const;
