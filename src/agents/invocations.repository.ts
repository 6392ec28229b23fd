import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { newUlid } from '../common/ids.js';
import { preparedRows, preparedStatement } from '../database/prepared-query.js';
import { isDatabaseUnavailable } from '../common/errors/database-errors.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import type { Usage } from '../providers/model-provider.js';

export interface InvocationRecord {
  agent: string;
  endpoint: 'invoke' | 'stream';
  principal: string;
  status: 'completed' | 'failed' | 'cancelled';
  errorCode?: string;
  usage: Usage;
  durationMs: number;
  correlationId: string;
  input: string;
  output?: string;
}

interface Pending {
  record: InvocationRecord;
  resolve: () => void;
  reject: (error: unknown) => void;
}

const MAX_BATCH = 200;
/** Columns bound as arrays; `created_at` is one value for the whole statement. */
const ROW_COLUMNS = 12;
const INSERT_INVOCATIONS = preparedStatement(
  'invocations',
  `INSERT INTO invocations (id, agent, endpoint, principal, status, error_code, input_tokens, output_tokens,
     duration_ms, correlation_id, input, output, created_at)
   SELECT r.*, $13::timestamptz
   FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::int[], $9::int[],
               $10::text[], $11::text[], $12::text[]) AS r`,
);

/**
 * The audit table of stateless calls. Rows are written by group commit: calls finishing within
 * the same couple of milliseconds share one INSERT, and each caller waits for the commit of its
 * row before answering, so batching never loses an acknowledged call.
 */
@Injectable()
export class InvocationsRepository implements OnApplicationShutdown {
  private pending: Pending[] = [];
  private timer?: NodeJS.Timeout;
  private readonly storeContent: boolean;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.storeContent = config.auditContent;
  }

  record(record: InvocationRecord): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ record, resolve, reject });
      if (this.pending.length >= MAX_BATCH) void this.flush();
      else this.timer ??= setTimeout(() => void this.flush(), 2);
    });
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.pending.length > 0) await this.flush();
  }

  private flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const batch = this.pending.splice(0, MAX_BATCH);
    if (this.pending.length > 0) this.timer = setTimeout(() => void this.flush(), 0);
    if (batch.length === 0) return Promise.resolve();
    return this.insert(batch.map((entry) => entry.record)).then(
      () => batch.forEach((entry) => entry.resolve()),
      (error: unknown) => {
        // One bad row must not fail the calls it happened to share a statement with.
        if (batch.length === 1 || isDatabaseUnavailable(error)) {
          batch.forEach((entry) => entry.reject(error));
          return;
        }
        return Promise.all(batch.map((entry) => this.insert([entry.record]).then(entry.resolve, entry.reject))).then(() => undefined);
      },
    );
  }

  /**
   * One INSERT for the batch: one column array per column, so a single named prepared statement
   * serves every batch size (each connection parses and plans it once; TypeORM's query runner is
   * skipped).
   */
  private insert(records: InvocationRecord[]): Promise<unknown> {
    const columns: unknown[][] = Array.from({ length: ROW_COLUMNS }, () => []);
    for (const record of records) {
      const row = [
        `inv_${newUlid()}`,
        record.agent,
        record.endpoint,
        record.principal,
        record.status,
        record.errorCode ?? null,
        record.usage.inputTokens,
        record.usage.outputTokens,
        Math.round(record.durationMs),
        record.correlationId,
        this.storeContent ? record.input : null,
        this.storeContent ? (record.output ?? null) : null,
      ];
      row.forEach((value, column) => columns[column].push(value));
    }
    return preparedRows(this.dataSource, INSERT_INVOCATIONS, [...columns, new Date()]);
  }
}
