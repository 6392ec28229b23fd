import type { AuditEventDto } from './dto/audit.dto.js';

export const CSV_COLUMNS = [
  'id',
  'seq',
  'at',
  'kind',
  'outcome',
  'principal',
  'agent',
  'pipeline',
  'session_id',
  'run_id',
  'correlation_id',
  'detail',
] as const satisfies readonly (keyof AuditEventDto)[];

/** The CSV header line, CRLF-terminated (RFC 4180). */
export const CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

export function jsonLine(event: AuditEventDto): string {
  return `${JSON.stringify(event)}\n`;
}

/** One RFC 4180 record; `detail` as its JSON text, null as an empty field. */
export function csvLine(event: AuditEventDto): string {
  return `${CSV_COLUMNS.map((column) => csvField(column === 'detail' ? JSON.stringify(event.detail) : event[column])).join(',')}\r\n`;
}

function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}
