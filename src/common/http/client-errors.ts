import type { Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { CORRELATION_HEADER, correlationIdFrom } from '../request-context/correlation-id.js';

/** Node's parser errors that are a client's mistake, by the status Node itself would send. */
const ANSWERS: Record<string, { status: number; reason: string; code: string; message: string }> = {
  HPE_HEADER_OVERFLOW: {
    status: 431,
    reason: 'Request Header Fields Too Large',
    code: 'headers_too_large',
    message: 'The request line and headers are larger than the server accepts.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    reason: 'Request Timeout',
    code: 'request_timeout',
    message: 'The request was not received in time.',
  },
};
const MALFORMED = { status: 400, reason: 'Bad Request', code: 'invalid_request', message: 'The request is not well-formed HTTP.' };

/**
 * Errors Node's HTTP parser raises before any route runs (a malformed request line, headers over
 * the limit) are answered with the error envelope and a correlation id, as Node would otherwise
 * answer them without a body (docs/api.md §2.2). The connection is closed afterwards: after a
 * parse error the rest of its bytes cannot be trusted.
 */
export function answerClientErrors(server: Server, logger: Logger): void {
  // Node answers an HTTP/1.1 request without Host with a bare 400 before any middleware; no
  // route needs the header, so such requests reach the app and get its envelope (issue 14).
  (server as Server & { requireHostHeader: boolean }).requireHostHeader = false;
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const answer = (error.code && ANSWERS[error.code]) || MALFORMED;
    const correlationId = correlationIdFrom(undefined);
    const envelope = JSON.stringify({ error: { code: answer.code, message: answer.message } });
    // An answer to HEAD has no body (RFC 9110 §9.3.2); a client would read one as a broken answer.
    const head = (error as { rawPacket?: Buffer }).rawPacket?.toString('latin1', 0, 5) === 'HEAD ';
    logger.info({ correlation_id: correlationId, status: answer.status, parser_error: error.code }, 'refused a request Node could not parse');
    socket.end(
      `HTTP/1.1 ${answer.status} ${answer.reason}\r\n` +
        'Content-Type: application/json; charset=utf-8\r\n' +
        `Content-Length: ${Buffer.byteLength(envelope)}\r\n` +
        `${CORRELATION_HEADER}: ${correlationId}\r\n` +
        'X-Content-Type-Options: nosniff\r\n' +
        'Connection: close\r\n\r\n' +
        (head ? '' : envelope),
    );
  });
}
