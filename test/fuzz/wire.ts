import { request as httpRequest } from 'node:http';
import type { FuzzRequest } from './openapi-requests.js';

export interface WireAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Longest wait for one answer: past it the request counts as a hang. */
export const ANSWER_TIMEOUT_MS = 10_000;

/** Sends `fuzz` over a fresh connection exactly as generated (duplicate headers included). */
export function send(url: string, fuzz: FuzzRequest): Promise<WireAnswer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      outgoing.destroy();
      reject(new Error(`no answer within ${ANSWER_TIMEOUT_MS} ms (a hang)`));
    }, ANSWER_TIMEOUT_MS);
    const headers = fuzz.headers.flat();
    if (fuzz.body && !fuzz.headers.some(([name]) => name.toLowerCase() === 'content-length')) {
      headers.push('Content-Length', String(fuzz.body.length));
    }
    const outgoing = httpRequest({ host: hostname, port, method: fuzz.method, path: fuzz.path, headers, agent: false }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      incoming.on('end', () => {
        clearTimeout(timer);
        resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // A refused request may be answered (and its connection closed) before the body is out.
    outgoing.end(fuzz.body);
  });
}
