import { describe, expect, it } from 'vitest';
import { SseParser, type StreamEvent } from './sse';

/** Feeds `wire` in pieces of `size` characters; answers the events read. */
function readAll(wire: string, size: number, parser = new SseParser()): StreamEvent[] {
  const events: StreamEvent[] = [];
  for (let at = 0; at < wire.length; at += size) events.push(...parser.push(wire.slice(at, at + size)));
  return events;
}

describe('SseParser', () => {
  it('reads events split anywhere across chunks, ignoring ids, names and pings', () => {
    const wire =
      'id: 1\nevent: token\ndata: {"type":"token","content":"Echo: "}\n\n: ping\n\n' +
      'id: 2\r\nevent: token\r\ndata: {"type":"token","content":"hi"}\r\n\r\n' +
      'id: 3\nevent: done\ndata: {"type":"done","usage":{"input_tokens":1,"output_tokens":2,"total_tokens":3}}\n\n';
    for (const size of [1, 3, 7, wire.length]) {
      expect(readAll(wire, size)).toEqual([
        { type: 'token', content: 'Echo: ' },
        { type: 'token', content: 'hi' },
        { type: 'done', usage: { input_tokens: 1, output_tokens: 2, total_tokens: 3 } },
      ]);
    }
  });

  it('joins several data lines of one event with LF, across CRLF line ends and chunk boundaries inside a line', () => {
    const wire =
      'event: token\r\ndata: {"type":"token",\r\ndata:"content":\r\ndata: "a\\nb"}\r\n\r\n' +
      'data: {"type":"token","content":"c"}\r\rdata: {"type":"token","content":"d"}\n\r\n';
    for (const size of [1, 2, 5, 11, wire.length]) {
      expect(readAll(wire, size)).toEqual([
        { type: 'token', content: 'a\nb' },
        { type: 'token', content: 'c' },
        { type: 'token', content: 'd' },
      ]);
    }
  });

  it('skips an event that is not JSON, or names no type, and reads on', () => {
    const parser = new SseParser();
    const events = readAll(
      'data: {"type":"token",\n\ndata: [1,2]\n\ndata: not json\n\ndata: {"type":"token","content":"after"}\n\n',
      4,
      parser,
    );
    expect(events).toEqual([{ type: 'token', content: 'after' }]);
    expect(parser.skipped).toBe(3);
  });

  it('takes a bare `data` line (no colon) as an empty data line, and a leading BOM as nothing', () => {
    const parser = new SseParser();
    expect(parser.push('\uFEFFdata: {"type":"token","content":"x"}\n\n')).toEqual([{ type: 'token', content: 'x' }]);
    // Two lines joined: "\n{…}", still the JSON object.
    expect(parser.push('data\ndata: {"type":"token","content":"y"}\n\n')).toEqual([{ type: 'token', content: 'y' }]);
    expect(parser.skipped).toBe(0);
    // An event of one empty data line is dispatched, and skipped (not JSON).
    expect(readAll('data\n\n', 1, parser)).toEqual([]);
    expect(parser.skipped).toBe(1);
  });

  it('keeps an event without its blank line until the line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('data: {"type":"token","content":"a"}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ type: 'token', content: 'a' }]);
  });
});
