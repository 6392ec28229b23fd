/**
 * The API does not return a run's input (docs/api.md §7.5, §7.6), so the console remembers the
 * inputs of the runs started from this tab, to show them with the run.
 */
const STORE = 'agentspec.console.run-inputs';

export function rememberRunInput(runId: string, input: string): void {
  const inputs = read();
  inputs[runId] = input;
  const kept = Object.entries(inputs).slice(-50);
  sessionStorage.setItem(STORE, JSON.stringify(Object.fromEntries(kept)));
}

export function runInput(runId: string): string | undefined {
  return read()[runId];
}

function read(): Record<string, string> {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}
