import type { AgentRunResult } from '../agent-loop.js';
import { type AgentRun, providerFinish } from './agent-run.js';

export const MAX_CHUNKS = 16;
/** Longest chunk, in characters; a longer paragraph is cut. */
export const MAX_CHUNK_CHARS = 8_000;
/** Map calls in flight at once. */
export const MAP_CONCURRENCY = 4;

export function mapInstruction(part: number, parts: number): string {
  return (
    `The user's input was split into ${parts} parts; this is part ${part} of ${parts}. Do the task for this part alone: ` +
    'your answer will be combined with the answers for the other parts.'
  );
}
export const REDUCE_INSTRUCTION =
  "The user's input was split into parts and each part was answered on its own. " +
  'Combine these partial answers into one answer for the whole input.';

/**
 * `map-reduce`: the input is split into chunks; one call per chunk (no tools, no history,
 * MAP_CONCURRENCY at a time); one last call combines their answers (no tools, streams).
 * One call is kept for that combination: with too few calls left, only the first chunks
 * are mapped. The first failed map call aborts the others.
 */
export async function runMapReduce(run: AgentRun): Promise<AgentRunResult> {
  const chunks = splitInput(run.request.input);
  const stop = run.blocked();
  if (stop) {
    run.limit(stop);
    return run.finish('', stop, false);
  }
  let mapped = chunks.length;
  if (run.turnsLeft() - 1 < chunks.length) {
    run.limit('max_turns');
    mapped = Math.max(1, run.turnsLeft() - 1);
  }
  const answers = await mapChunks(run, chunks, mapped);

  const parts = answers.flatMap((text, i) => (text === undefined ? [] : [{ part: i + 1, text }]));
  const bestSoFar = parts
    .map((entry) => entry.text)
    .filter((text) => text.length > 0)
    .join('\n\n');
  const blocked = run.blocked();
  if (blocked) {
    run.limit(blocked);
    return run.finish(bestSoFar, blocked, false);
  }
  const content = parts.map((entry) => `Answer for part ${entry.part} of ${chunks.length}:\n${entry.text || '(no answer)'}`).join('\n\n');
  const reduced = await run.call([...run.opening(REDUCE_INSTRUCTION), { role: 'user', content }], { stream: run.streaming });
  if (reduced.content.length > 0) return run.finish(reduced.content, providerFinish(reduced.finishReason), true);
  return run.finish(bestSoFar, providerFinish(reduced.finishReason), false);
}

/** The answers of the first `count` chunks, in order; undefined for a chunk not mapped (token budget spent). */
async function mapChunks(run: AgentRun, chunks: string[], count: number): Promise<(string | undefined)[]> {
  const answers: (string | undefined)[] = new Array<string | undefined>(chunks.length).fill(undefined);
  const siblings = new AbortController();
  const caller = run.request.signal;
  const onAbort = (): void => siblings.abort(caller?.reason);
  if (caller?.aborted) onAbort();
  else caller?.addEventListener('abort', onAbort, { once: true });
  let next = 0;
  let failure: { error: unknown } | undefined;

  const worker = async (): Promise<void> => {
    while (next < count && failure === undefined) {
      const blocked = run.blocked();
      if (blocked) {
        run.limit(blocked);
        return;
      }
      const i = next++;
      try {
        const response = await run.call(
          [...run.opening(mapInstruction(i + 1, chunks.length), { history: false }), { role: 'user', content: chunks[i] }],
          { signal: siblings.signal },
        );
        answers[i] = response.content;
      } catch (error) {
        failure ??= { error };
        siblings.abort(error);
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(MAP_CONCURRENCY, count) }, worker));
  } finally {
    caller?.removeEventListener('abort', onAbort);
  }
  if (failure !== undefined) {
    // The caller's abort wins over whatever a sibling call reported for it.
    run.checkAborted();
    throw failure.error;
  }
  return answers;
}

/**
 * The chunks of an input: its paragraphs (split at blank lines), a paragraph longer than
 * MAX_CHUNK_CHARS cut at the last whitespace before the limit; past MAX_CHUNKS chunks,
 * neighbours are joined in equal runs so that at most MAX_CHUNKS remain.
 */
export function splitInput(input: string): string[] {
  const paragraphs = input
    .split(/\n[ \t]*\n/)
    .map((paragraph) => paragraph.trim())
    .filter((paragraph) => paragraph.length > 0);
  const pieces = paragraphs.flatMap(cutToSize);
  if (pieces.length === 0) return [input];
  if (pieces.length <= MAX_CHUNKS) return pieces;
  const run = Math.ceil(pieces.length / MAX_CHUNKS);
  const chunks: string[] = [];
  for (let i = 0; i < pieces.length; i += run) chunks.push(pieces.slice(i, i + run).join('\n\n'));
  return chunks;
}

function cutToSize(paragraph: string): string[] {
  const pieces: string[] = [];
  let rest = paragraph;
  while (rest.length > MAX_CHUNK_CHARS) {
    const space = rest.lastIndexOf(' ', MAX_CHUNK_CHARS);
    const newline = rest.lastIndexOf('\n', MAX_CHUNK_CHARS);
    const at = Math.max(space, newline);
    const cut = at > 0 ? at : MAX_CHUNK_CHARS;
    pieces.push(rest.slice(0, cut).trimEnd());
    rest = rest.slice(cut).trimStart();
  }
  if (rest.length > 0) pieces.push(rest);
  return pieces;
}
