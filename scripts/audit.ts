import 'reflect-metadata';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { MigrationExecutor } from 'typeorm';
import { AuditChainRepository, type Verification } from '../src/audit/audit-chain.repository.js';
import { ConfigError, loadConfig } from '../src/config/configuration.js';
import { createDataSource, runMigrations } from '../src/database/data-source.js';
import { type EmbeddedDatabase, runningEmbeddedDatabaseUrl, startEmbeddedDatabase } from '../src/database/embedded-database.js';

const USAGE = `usage: npm run audit -- <command> [--json]

  verify [--expect <seq>:<hash>]
           seals pending events, then walks the hash chain from the retention anchor to the
           head and names the first broken link; with --expect, also checks that the chain
           still has that hash at that position (a head recorded earlier, elsewhere);
           exit code 0 intact, 3 broken (a broken link, or queued events that no longer exist)
  status   sealed and pending events, the head of the chain, the last verification
  seal     seals pending events now
  purge    deletes sealed events older than AGENTSPEC_AUDIT_RETENTION, in batches

Uses DATABASE_URL, or the embedded PostgreSQL under AGENTSPEC_DATA_DIR (./.data). verify and
status never change the schema: with migrations pending they stop (exit code 4); seal and purge
apply pending migrations first. See docs/audit.md.
`;

/** Exit code of a verification that found a broken link (1 is any other failure, 2 usage). */
export const EXIT_BROKEN = 3;
/** Exit code of verify or status on a database with migrations pending. */
export const EXIT_MIGRATIONS_PENDING = 4;

export interface AuditCliOptions {
  env?: Record<string, string | undefined>;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
}

type Command = 'verify' | 'status' | 'seal' | 'purge';

/** `npm run audit -- verify|status|seal|purge`; resolves to the exit code. */
export async function runAuditCli(args: readonly string[], options: AuditCliOptions = {}): Promise<number> {
  const out = options.stdout ?? ((text: string) => process.stdout.write(text));
  const err = options.stderr ?? ((text: string) => process.stderr.write(text));
  let command: Command;
  let json: boolean;
  let expected: { seq: bigint; hash: string } | undefined;
  let config: ReturnType<typeof loadConfig>;
  try {
    const parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: { json: { type: 'boolean', default: false }, expect: { type: 'string' } },
    });
    const [name, ...extra] = parsed.positionals;
    if (!['verify', 'status', 'seal', 'purge'].includes(name ?? '') || extra.length > 0) {
      err(`${name === undefined ? 'a command is required' : `unknown command: ${[name, ...extra].join(' ')}`}\n\n${USAGE}`);
      return 2;
    }
    command = name as Command;
    json = parsed.values.json;
    if (parsed.values.expect !== undefined) {
      const match = /^([1-9][0-9]{0,18}):([0-9a-f]{64})$/.exec(parsed.values.expect.trim().toLowerCase());
      if (command !== 'verify' || !match) {
        err(`--expect takes <seq>:<64 hex digits> and goes with verify\n\n${USAGE}`);
        return 2;
      }
      expected = { seq: BigInt(match[1]), hash: match[2] };
    }
    config = loadConfig(options.env ?? process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      err(`${error.message}\n`);
      return 2;
    }
    if (error instanceof TypeError) {
      err(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (command === 'purge' && config.audit.retentionMs === undefined) {
    err('AGENTSPEC_AUDIT_RETENTION is not set: nothing to purge.\n');
    return 2;
  }

  let embedded: EmbeddedDatabase | undefined;
  const url =
    config.databaseUrl ??
    (await runningEmbeddedDatabaseUrl(config.dataDir)) ??
    (embedded = await startEmbeddedDatabase({ dataDir: config.dataDir })).url;
  const dataSource = createDataSource({ url, poolSize: 2, applicationName: 'agentspec-audit' });
  try {
    await dataSource.initialize();
    if (command === 'verify' || command === 'status') {
      // An auditor's tool reads; changing the schema is the operator's decision (npm run migrate).
      const pending = await new MigrationExecutor(dataSource).getPendingMigrations();
      if (pending.length > 0) {
        err(
          `the database has ${pending.length} pending migration(s) (${pending.map((migration) => migration.name).join(', ')}); ` +
            `${command} does not change the schema: apply them first (start the service or npm run migration:run), then retry\n`,
        );
        return EXIT_MIGRATIONS_PENDING;
      }
    } else {
      const applied = await runMigrations(dataSource);
      if (applied.length > 0) err(`applied migrations: ${applied.join(', ')}\n`);
    }
    const chain = new AuditChainRepository(dataSource);
    switch (command) {
      case 'seal': {
        const sealed = await sealAll(chain);
        out(
          json
            ? `${JSON.stringify({ sealed })}\n`
            : sealed === undefined
              ? 'another sealer holds the chain; try again\n'
              : `sealed ${sealed} events\n`,
        );
        return sealed === undefined ? 1 : 0;
      }
      case 'purge': {
        const cutoff = new Date(Date.now() - config.audit.retentionMs!);
        const { purged, broken, fromSeq, toSeq } = await chain.purge(cutoff, 1_000);
        out(
          json
            ? `${JSON.stringify({ purged, from_seq: fromSeq ?? null, to_seq: toSeq ?? null, first_broken: broken ?? null })}\n`
            : `purged ${purged} events older than ${cutoff.toISOString()}${purged > 0 ? ` (seq ${fromSeq}..${toSeq})` : ''}\n`,
        );
        if (broken) err(`stopped before a broken link: ${describeBroken(broken)}\n`);
        return broken ? EXIT_BROKEN : 0;
      }
      case 'status': {
        const state = await chain.state();
        const status = {
          sealed: Number(state.headSeq - state.anchorSeq),
          pending: state.pending,
          orphaned_pending: state.orphanedPending,
          head_seq: state.headSeq === 0n ? null : Number(state.headSeq),
          head_hash: state.headSeq === 0n ? null : state.headHash,
          anchor_seq: Number(state.anchorSeq),
          last_verification: state.lastVerification && { ...state.lastVerification, at: state.lastVerification.at.toISOString() },
        };
        out(json ? `${JSON.stringify(status, null, 2)}\n` : statusText(status));
        if (status.orphaned_pending > 0) err(orphanText(status.orphaned_pending));
        return 0;
      }
      case 'verify': {
        await sealAll(chain);
        const verification = await chain.verify();
        const state = await chain.state();
        const found = expected && (await chain.hashAt(expected.seq));
        const expectation = expected && { seq: Number(expected.seq), matches: found === expected.hash, found: found ?? null };
        const retention = retentionReport(verification, config.audit.retentionMs);
        if (json) {
          const report = {
            ...verification,
            at: verification.at.toISOString(),
            pending: state.pending,
            orphaned_pending: state.orphanedPending,
            retention_ms: config.audit.retentionMs ?? null,
            ...(retention.warning ? { warning: retention.warning } : {}),
            ...(expectation ? { expected: expectation } : {}),
          };
          out(`${JSON.stringify(report, null, 2)}\n`);
        } else {
          out(verificationText(verification, state.pending, state.headHash));
          out(retention.text);
          if (state.orphanedPending > 0) out(orphanText(state.orphanedPending));
          if (expectation) out(expectationText(expectation));
        }
        if (retention.warning) err(`warning: ${retention.warning}\n`);
        const intact = verification.status === 'ok' && state.orphanedPending === 0 && (expectation?.matches ?? true);
        return intact ? 0 : EXIT_BROKEN;
      }
    }
    return 2;
  } catch (error) {
    err(`error: ${(error as Error).message}\n`);
    return 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
    await embedded?.stop();
  }
}

/** Seals every pending event, batch after batch; undefined when another sealer holds the chain. */
async function sealAll(chain: AuditChainRepository): Promise<number | undefined> {
  let total: number | undefined;
  for (;;) {
    const sealed = await chain.seal(1_000, 100);
    if (sealed === undefined) return total;
    total = (total ?? 0) + sealed;
    if (sealed < 100_000) return total;
  }
}

function describeBroken(broken: { seq: number; id: string; reason: string }): string {
  return `seq ${broken.seq} (event ${broken.id || '-'}): ${broken.reason}`;
}

function verificationText(verification: Verification, pending: number, headHash: string): string {
  if (verification.first_broken) {
    return `BROKEN after ${verification.checked} links: first broken link at ${describeBroken(verification.first_broken)}\n`;
  }
  return `ok: ${verification.checked} links verified, head ${headHash}; ${pending} events pending\n`;
}

function orphanText(count: number): string {
  return `BROKEN evidence: ${count} queued event(s) no longer exist: deleted before they were sealed (audit_pending rows without their audit_events row)\n`;
}

/**
 * What a walk from the anchor cannot prove: that the links before it were purged by retention
 * rather than deleted with the anchor moved by hand. The anchor and the age of the oldest event
 * left, against AGENTSPEC_AUDIT_RETENTION, let a reader judge (docs/audit.md "Verification").
 */
function retentionReport(verification: Verification, retentionMs: number | undefined): { text: string; warning?: string } {
  const anchor = verification.anchor_seq ?? 0;
  const oldest = verification.oldest_at;
  const age = oldest === null ? undefined : verification.at.getTime() - Date.parse(oldest);
  const text =
    `anchor   seq ${anchor}${anchor === 0 ? ' (nothing purged)' : ''}; oldest event ${oldest ?? '-'}` +
    `${age === undefined ? '' : ` (${formatDays(age)} old)`}; retention ${retentionMs === undefined ? 'unset' : formatDays(retentionMs)}\n`;
  if (anchor > 0 && retentionMs === undefined) {
    return { text, warning: `events up to seq ${anchor} were purged but AGENTSPEC_AUDIT_RETENTION is not set here: check who purged them` };
  }
  return { text };
}

function formatDays(ms: number): string {
  return `${(ms / 86_400_000).toFixed(1)}d`;
}

function expectationText(expectation: { seq: number; matches: boolean; found: string | null }): string {
  if (expectation.matches) return `expected hash at seq ${expectation.seq}: matches\n`;
  if (expectation.found === null)
    return `EXPECTED hash at seq ${expectation.seq} cannot be checked: that position is purged or not sealed\n`;
  return `EXPECTED hash at seq ${expectation.seq} differs: the chain holds ${expectation.found}\n`;
}

function statusText(status: {
  sealed: number;
  pending: number;
  orphaned_pending: number;
  head_seq: number | null;
  head_hash: string | null;
  anchor_seq: number;
}): string {
  return (
    `sealed   ${status.sealed}\npending  ${status.pending}\norphaned ${status.orphaned_pending}\nhead     ${status.head_seq ?? '-'} ${status.head_hash ?? ''}\n` +
    `anchor   ${status.anchor_seq}\n`
  );
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  runAuditCli(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
