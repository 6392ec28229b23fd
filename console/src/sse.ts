/** One event of `POST /v1/agents/{name}/stream` (docs/api.md §5.3). */
export type StreamEvent =
  | { type: 'token'; content: string }
  | { type: 'tool_call'; name: string; arguments: Record<string, unknown> }
  | { type: 'tool_result'; name: string; output: string; error?: string }
  | { type: 'guardrail'; guardrail: string; side: string; fallback: string }
  | { type: 'done'; usage: Usage; turn?: number }
  | { type: 'error'; code: string; message: string };

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
}

/**
 * Server-sent events read from a fetch body (EventSource cannot POST), by the parsing rules of
 * WHATWG HTML "Server-sent events": lines end at CRLF, LF or CR; an event ends at a blank line;
 * its `data` lines are joined with LF; a line without a colon is a field with an empty value;
 * `: ping` comments, ids and event names are ignored, since every event's JSON names its type.
 * An event whose data is not a JSON object with a `type` is skipped, not thrown: one bad event
 * must not end the reading (and leave the stream open behind it).
 */
export class SseParser {
  private buffer = '';
  private data: string[] = [];
  private started = false;
  /** Events skipped because their data was not a JSON object with a type. */
  skipped = 0;

  push(text: string): StreamEvent[] {
    this.buffer += text;
    if (!this.started && this.buffer.length > 0) {
      this.started = true;
      if (this.buffer.startsWith('\uFEFF')) this.buffer = this.buffer.slice(1);
    }
    const events: StreamEvent[] = [];
    let newline: number;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      // A lone \r at the very end may be the first half of \r\n: wait for more.
      if (width === 1 && this.buffer[newline] === '\r' && newline === this.buffer.length - 1) break;
      this.buffer = this.buffer.slice(newline + width);
      if (line === '') {
        const event = this.dispatch();
        if (event) events.push(event);
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        if (field === 'data') this.data.push(colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, ''));
      }
    }
    return events;
  }

  private dispatch(): StreamEvent | undefined {
    if (this.data.length === 0) return undefined;
    const text = this.data.join('\n');
    this.data = [];
    try {
      const value = JSON.parse(text) as unknown;
      if (typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string') {
        return value as StreamEvent;
      }
    } catch {
      // Counted below: not JSON.
    }
    this.skipped++;
    return undefined;
  }
}
