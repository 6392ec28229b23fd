import { StringDecoder } from 'node:string_decoder';
import type { ToolResult } from './tool.js';

/** The most any tool hands back to the model; the rest is dropped and the cut is marked. */
export const MAX_TOOL_OUTPUT_BYTES = 1024 * 1024;

export function toolFailure(message: string): ToolResult {
  return { output: '', error: message };
}

export function truncationNote(limitBytes: number): string {
  return `\n[output truncated at ${limitBytes} bytes]`;
}

/**
 * Collects a byte stream up to a limit. Bytes past the limit are counted as dropped so the
 * caller can mark the result as cut instead of silently losing data.
 */
export class CappedBuffer {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  /** Returns false once the limit is reached, so a reader can stop. */
  push(chunk: Buffer): boolean {
    if (this.truncated) return false;
    const room = this.limit - this.size;
    if (chunk.length > room) {
      if (room > 0) this.chunks.push(chunk.subarray(0, room));
      this.size = this.limit;
      this.truncated = true;
      return false;
    }
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  /** UTF-8 text; a character split by the cut is dropped rather than turned into U+FFFD. */
  text(): string {
    const bytes = Buffer.concat(this.chunks);
    return this.truncated ? new StringDecoder('utf8').write(bytes) : bytes.toString('utf8');
  }
}

export function capText(text: string, limit: number): { text: string; truncated: boolean } {
  if (Buffer.byteLength(text) <= limit) return { text, truncated: false };
  const buffer = new CappedBuffer(limit);
  buffer.push(Buffer.from(text));
  return { text: buffer.text(), truncated: true };
}

/** First bytes of a diagnostic text (stderr, an error body), on one readable line. */
export function excerpt(text: string, maxChars = 1000): string {
  const compact = text.trim();
  return compact.length > maxChars ? `${compact.slice(0, maxChars)}…` : compact;
}
