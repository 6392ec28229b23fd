import type { HttpTarget } from './http.js';

/** One request the load sent and what came of it. */
export interface Outcome {
  /** Which app instance (its slot in the load's targets). */
  instance: number;
  kind: 'turn' | 'invoke' | 'pipeline';
  agent: string;
  /** For turns: the session and the unique input, to find the stored message. */
  sessionId?: string;
  input: string;
  startedAt: number;
  endedAt: number;
  /** HTTP status, or undefined when no answer came (connection refused or reset, timeout). */
  status?: number;
  /** The envelope's `error.code`, when the answer was one. */
  errorCode?: string;
  /** The error message when there was no answer, or when the envelope had none. */
  failure?: string;
  retryAfter?: string | null;
}

export interface LoadOptions {
  /** The app instances; a slot may be replaced (a restarted instance) while the load runs. */
  targets: HttpTarget[];
  /** Concurrent clients per instance. */
  clientsPerInstance: number;
  /** Agents each client talks to, each in its own session. */
  agents: string[];
  /** A pipeline every client runs every `pipelineEvery` rounds. */
  pipeline: string;
  pipelineEvery: number;
  /** Pause between two requests of one client. */
  pauseMs: number;
  requestTimeoutMs: number;
  /** Starts every input, so that the inputs of several loads on one database stay unique. */
  inputPrefix?: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Steady traffic from a few clients per instance: each keeps one session per agent and goes
 * round session turns, invokes and now and then a pipeline run, recording every outcome. A
 * client whose session call got no answer opens a new session, as a client of a crashed
 * replica would (the old session's lease then has to expire by itself).
 */
export class FaultLoad {
  readonly outcomes: Outcome[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private sequence = 0;

  constructor(private readonly options: LoadOptions) {}

  start(): void {
    this.running = true;
    this.options.targets.forEach((_, instance) => {
      for (let client = 0; client < this.options.clientsPerInstance; client++) this.loops.push(this.client(instance, client));
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }

  /** Outcomes of requests that overlapped [from, to]. */
  between(from: number, to: number): Outcome[] {
    return this.outcomes.filter((outcome) => outcome.endedAt >= from && outcome.startedAt <= to);
  }

  /** When the first request started at or after `from` on `instance` answered 200, or undefined. */
  firstSuccessAfter(instance: number, from: number, filter: (outcome: Outcome) => boolean = () => true): number | undefined {
    const times = this.outcomes
      .filter((o) => o.instance === instance && o.startedAt >= from && o.status === 200 && filter(o))
      .map((o) => o.endedAt);
    return times.length ? Math.min(...times) : undefined;
  }

  private async client(instance: number, client: number): Promise<void> {
    const sessions = new Map<string, string>();
    for (let round = 0; this.running; round++) {
      for (const agent of this.options.agents) {
        if (!this.running) return;
        let sessionId = sessions.get(agent);
        if (!sessionId) {
          sessionId = await this.openSession(instance, agent);
          if (sessionId) sessions.set(agent, sessionId);
        }
        if (sessionId) {
          const outcome = await this.send(instance, 'turn', agent, `/v1/agents/${agent}/sessions/${sessionId}/continue`, (input) => ({ input }), sessionId);
          // No answer, or the session was lost with its replica: start over in a new one.
          if (outcome.status === undefined || outcome.status === 404 || outcome.status === 409) sessions.delete(agent);
        }
        await sleep(this.options.pauseMs);
        await this.send(instance, 'invoke', agent, `/v1/agents/${agent}/invoke`, (input) => ({ input }));
        await sleep(this.options.pauseMs);
      }
      if (round % this.options.pipelineEvery === client % this.options.pipelineEvery) {
        await this.send(instance, 'pipeline', this.options.pipeline, `/v1/pipelines/${this.options.pipeline}/run`, (input) => ({ input }));
        await sleep(this.options.pauseMs);
      }
    }
  }

  private async openSession(instance: number, agent: string): Promise<string | undefined> {
    const url = `${this.options.targets[instance].url}/v1/agents/${agent}/sessions`;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      const body = (await response.json()) as { session_id?: string };
      if (response.status === 200 && body.session_id) return body.session_id;
    } catch {
      // Counted through the turn requests; creating the session is retried next round.
    }
    await sleep(this.options.pauseMs);
    return undefined;
  }

  private async send(
    instance: number,
    kind: Outcome['kind'],
    agent: string,
    path: string,
    body: (input: string) => unknown,
    sessionId?: string,
  ): Promise<Outcome> {
    const input = `${this.options.inputPrefix ?? 'fault'}-${kind}-${instance}-${++this.sequence}`;
    const outcome: Outcome = { instance, kind, agent, input, startedAt: Date.now(), endedAt: 0, ...(sessionId ? { sessionId } : {}) };
    try {
      const response = await fetch(`${this.options.targets[instance].url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body(input)),
        signal: AbortSignal.timeout(this.options.requestTimeoutMs),
      });
      outcome.status = response.status;
      outcome.retryAfter = response.headers.get('retry-after');
      const text = await response.text();
      if (response.status >= 400) {
        try {
          const envelope = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
          if (typeof envelope.error?.code === 'string' && typeof envelope.error.message === 'string') {
            outcome.errorCode = envelope.error.code;
          } else outcome.failure = `no error envelope: ${text.slice(0, 200)}`;
        } catch {
          outcome.failure = `not JSON: ${text.slice(0, 200)}`;
        }
      }
    } catch (error) {
      const cause = (error as { cause?: { code?: string } }).cause;
      outcome.failure = cause?.code ?? (error as Error).name ?? String(error);
    }
    outcome.endedAt = Date.now();
    this.outcomes.push(outcome);
    return outcome;
  }
}

/** `{ "503 unavailable": 12, "200": 340, … }` */
export function tally(outcomes: readonly Outcome[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const outcome of outcomes) {
    const key = outcome.status === undefined ? `no answer (${outcome.failure})` : `${outcome.status}${outcome.errorCode ? ` ${outcome.errorCode}` : ''}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}
