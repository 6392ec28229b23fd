export interface ParsedSse {
  /** The JSON of each event's `data:` line. */
  events: Record<string, unknown>[];
  ids: number[];
  /** The `event:` name of each event, in order (`message` when an event has none, as browsers do). */
  names: string[];
  comments: string[];
}

/** Reads a whole `text/event-stream` body into its JSON events, ids and names. */
export async function readSse(response: Response): Promise<ParsedSse> {
  const text = await response.text();
  return parseSse(text);
}

export function parseSse(text: string): ParsedSse {
  const parsed: ParsedSse = { events: [], ids: [], names: [], comments: [] };
  for (const block of text.split('\n\n')) {
    let name = 'message';
    let data: string | undefined;
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) data = line.slice(6);
      else if (line.startsWith('id: ')) parsed.ids.push(Number(line.slice(4)));
      else if (line.startsWith('event: ')) name = line.slice(7);
      else if (line.startsWith(':')) parsed.comments.push(line);
    }
    if (data === undefined) continue;
    parsed.events.push(JSON.parse(data) as Record<string, unknown>);
    parsed.names.push(name);
  }
  return parsed;
}
