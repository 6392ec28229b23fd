/** Reads a whole `text/event-stream` body into its JSON events and ids. */
export async function readSse(response: Response): Promise<{ events: Record<string, unknown>[]; ids: number[]; comments: string[] }> {
  const text = await response.text();
  return parseSse(text);
}

export function parseSse(text: string): { events: Record<string, unknown>[]; ids: number[]; comments: string[] } {
  const events: Record<string, unknown>[] = [];
  const ids: number[] = [];
  const comments: string[] = [];
  for (const block of text.split('\n\n')) {
    for (const line of block.split('\n')) {
      if (line.startsWith('data: ')) events.push(JSON.parse(line.slice(6)) as Record<string, unknown>);
      else if (line.startsWith('id: ')) ids.push(Number(line.slice(4)));
      else if (line.startsWith(':')) comments.push(line);
    }
  }
  return { events, ids, comments };
}
