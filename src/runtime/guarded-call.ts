import type { AgentEvent, ToolCallRecord } from '../engine/agent-loop.js';
import type { GuardrailFinding, GuardrailSet } from '../governance/guardrails.js';
import { StreamGuard } from '../governance/stream-guard.js';

/** Where a guardrail matched: the caller's input, the answer, or a tool's arguments or result. */
export type GuardrailSide = 'input' | 'output' | 'tool';

/** A guardrail that matched a call (docs/governance.md). */
export interface GuardrailOutcome {
  guardrail: string;
  mode: 'block' | 'warn';
  side: GuardrailSide;
}

/** Sent on a stream when a guardrail replaced the answer: what was sent so far is withdrawn. */
export type GuardrailEvent = {
  type: 'guardrail';
  guardrail: string;
  side: 'input' | 'output';
  fallback: string;
};

export type RunEvent = AgentEvent | GuardrailEvent;
type Send = (event: RunEvent) => void | Promise<void>;

/** What a blocked input is stored as (session history, audit): never the text that matched. */
export function withheldInput(guardrail: string): string {
  return `[input withheld by guardrail "${guardrail}"]`;
}

function withheldText(guardrail: string): string {
  return `[withheld by guardrail "${guardrail}"]`;
}

/**
 * The guardrails of one call: the input before the model, tool arguments and results as they
 * happen, the streamed answer through a StreamGuard, and the final answer. Collects one outcome
 * per guardrail and side for the answer, the audit and the metric.
 */
export class GuardedCall {
  readonly outcomes: GuardrailOutcome[] = [];
  private readonly stream?: StreamGuard;
  private readonly blocks: boolean;
  /** A delegate's guardrail withdrew the answer on the stream: nothing more of it goes out. */
  private withdrawn = false;

  constructor(
    private readonly set: GuardrailSet,
    streaming: boolean,
  ) {
    this.blocks = set.blockRules.length > 0;
    if (streaming && this.blocks) this.stream = new StreamGuard(set);
  }

  get isEmpty(): boolean {
    return this.set.isEmpty;
  }

  /** True once a delegate's `guardrail` event withdrew the answer on the stream. */
  get isWithdrawn(): boolean {
    return this.withdrawn;
  }

  /** The input's check: when blocked, the fallback that answers instead of the model. */
  input(text: string): { blockedBy: string; fallback: string } | undefined {
    if (this.set.isEmpty) return undefined;
    const decision = this.set.apply(text);
    this.add(decision.findings, 'input');
    return decision.blocked ? { blockedBy: decision.blockedBy ?? '', fallback: decision.text } : undefined;
  }

  /**
   * The run's events as the client may see them: tokens pass through the stream guard (held
   * back, never released once the answer is blocked); a tool's arguments or result that a
   * block guardrail matches are withheld; after a block, nothing more is sent.
   */
  events(send: Send | undefined): Send | undefined {
    // Without block rules nothing is held, withheld or withdrawn here: events go straight out.
    if (!send || !this.blocks) return send;
    return (event) => {
      if (this.stream?.blocked || this.withdrawn) return undefined;
      // A delegate's own guardrail replaced its answer: passed on as it is, and the end.
      if (event.type === 'guardrail') {
        this.withdrawn = true;
        return send(event);
      }
      if (event.type === 'token') {
        const text = this.stream ? this.stream.push(event.content) : event.content;
        return text ? send({ type: 'token', content: text }) : undefined;
      }
      if (event.type === 'tool_call') {
        const by = this.blocking(JSON.stringify(event.arguments));
        return send(by === undefined ? event : { ...event, arguments: {} });
      }
      const by = this.blocking(event.output) ?? (event.error === undefined ? undefined : this.blocking(event.error));
      return send(by === undefined ? event : { type: 'tool_result', name: event.name, output: withheldText(by) });
    };
  }

  /** The run's tool calls with what a block guardrail matches withheld, as answers and sessions store them. */
  toolCalls(calls: ToolCallRecord[]): ToolCallRecord[] {
    if (this.set.isEmpty) return calls;
    return calls.map((call) => {
      const argumentsBy = this.blocking(JSON.stringify(call.arguments));
      const outputBy = this.blocking(call.output) ?? (call.error === undefined ? undefined : this.blocking(call.error));
      if (argumentsBy === undefined && outputBy === undefined) return call;
      return {
        ...call,
        ...(argumentsBy !== undefined ? { arguments: {} } : {}),
        ...(outputBy !== undefined
          ? { output: withheldText(outputBy), ...(call.error !== undefined ? { error: withheldText(outputBy) } : {}) }
          : {}),
      };
    });
  }

  /**
   * The answer's check. Not blocked: the held-back tail still to send (streams). Blocked: the
   * guardrail and its fallback, which replaces the answer.
   */
  output(text: string): { tail?: string; blocked?: { guardrail: string; fallback: string } } {
    if (this.set.isEmpty) return {};
    const decision = this.set.apply(text);
    const streamed = this.stream?.finish();
    this.add(decision.findings, 'output');
    const blockedBy = decision.blocked ? decision.blockedBy : streamed?.blocked ? streamed.blockedBy : undefined;
    if (blockedBy === undefined) return streamed?.text && !this.withdrawn ? { tail: streamed.text } : {};
    this.note(blockedBy, 'block', 'output');
    return { blocked: { guardrail: blockedBy, fallback: decision.blocked ? decision.text : streamed!.text } };
  }

  /** The first block guardrail that matches `text`, noted as a tool-side match. */
  private blocking(text: string): string | undefined {
    const decision = this.set.apply(text);
    for (const finding of decision.findings) this.note(finding.guardrail, finding.mode, 'tool');
    return decision.blocked ? decision.blockedBy : undefined;
  }

  private add(findings: readonly GuardrailFinding[], side: GuardrailSide): void {
    for (const finding of findings) this.note(finding.guardrail, finding.mode, side);
  }

  /** One outcome per guardrail and side, whatever the number of its keywords and patterns that matched. */
  private note(guardrail: string, mode: 'block' | 'warn', side: GuardrailSide): void {
    if (!this.outcomes.some((o) => o.guardrail === guardrail && o.side === side)) this.outcomes.push({ guardrail, mode, side });
  }
}
