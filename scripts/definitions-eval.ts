import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../src/config/configuration.js';
import { readAgentConfigEnvironment } from '../src/config/secrets.js';
import type { Definitions } from '../src/definitions/index.js';
import { formatEvalSummary, formatEvalTable, formatJUnitXml } from '../src/evaluation/eval-report.js';
import { runEvalCases, selectEvalCases, type EvalSelection } from '../src/evaluation/eval-runner.js';
import { OfflineAgents } from '../src/evaluation/offline-agents.js';
import { resolveAgentConfig } from '../src/runtime/agent-config.js';

export interface EvalIo {
  out: (text: string) => void;
  err: (text: string) => void;
  cwd?: string;
  /** The process environment (default: the real one): provider settings and AGENTSPEC_CONFIG_…. */
  variables?: Record<string, string | undefined>;
}

export interface EvalCommandOptions extends EvalSelection {
  /** Where to write JUnit XML, relative to the working directory. */
  junit?: string;
}

/**
 * `eval`: runs the selected eval cases of loaded definitions against the configured providers
 * and prints a table and a summary. 0: every case passed; 1: some case failed; 2: nothing could
 * be run (bad configuration, unknown agent, no case selected) or the report not written.
 */
export async function runEvalCommand(definitions: Definitions, options: EvalCommandOptions, io: EvalIo): Promise<number> {
  const selected = selectEvalCases(definitions, options);
  if (!selected.ok) {
    io.err(`error: ${selected.problem}\n`);
    return 2;
  }
  if (selected.cases.length === 0) {
    io.err(`error: no eval case to run${options.agent !== undefined || options.tags !== undefined ? ' matches the filters' : ''}\n`);
    return 2;
  }
  let config;
  try {
    config = loadConfig(io.variables);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.err(`error: ${error.message}\n`);
    return 2;
  }
  // Only the agents evaluated need their config values.
  const evaluated = new Set(selected.cases.map((c) => c.agent));
  const agentConfig = resolveAgentConfig(
    { agents: definitions.agents.filter((agent) => evaluated.has(agent.name)) },
    io.variables ?? readAgentConfigEnvironment(),
  );
  if (!agentConfig.ok) {
    io.err(agentConfig.problems.map((problem) => `error: ${problem}\n`).join(''));
    return 2;
  }
  const agents = OfflineAgents.build(definitions, config, agentConfig.agents);
  let results;
  try {
    results = await runEvalCases(selected.cases, agents);
  } finally {
    await agents.close();
  }
  io.out(formatEvalTable(results));
  io.out(formatEvalSummary(results));
  if (options.junit !== undefined) {
    const file = resolve(io.cwd ?? process.cwd(), options.junit);
    try {
      await writeFile(file, formatJUnitXml(results));
    } catch (error) {
      io.err(`error: cannot write the JUnit report ${options.junit}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  return results.every((r) => r.passed) ? 0 : 1;
}
