import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { preparedRows, preparedStatement } from '../database/prepared-query.js';
import { queryRows } from '../database/query-rows.js';
import { SessionBusyError } from '../common/errors/domain-errors.js';
import { newToken } from '../common/ids.js';
import { ToolCallDto, UsageDto } from '../common/dto/agent-run.dto.js';

/**
 * Returns "now" for every time comparison. Without one, the database clock decides, so all
 * replicas agree on idle expiry, leases and retention; tests inject a fake one.
 */
export type Clock = () => Date;
export const SESSIONS_CLOCK = Symbol('SESSIONS_CLOCK');

/** Advisory lock key that lets one replica at a time run the retention purge. */
export const SESSION_PURGE_LOCK_KEY = 4_717_011_005;

export type MessageRole = 'user' | 'assistant';

/** A session as the API shows it (camelCase here; the controller maps to snake_case). */
export interface SessionRecord {
  id: string;
  agent: string;
  metadata: Record<string, string>;
  turns: number;
  createdAt: Date;
  lastActiveAt: Date;
}

export interface SessionMessage {
  turn: number;
  role: MessageRole;
  content: string;
  createdAt: Date;
  usage?: UsageDto;
  toolCalls?: ToolCallDto[];
}

export interface SessionHistory extends SessionRecord {
  messages: SessionMessage[];
}

/** What the model is sent as history: role and content only, oldest first. */
export interface MemoryMessage {
  role: MessageRole;
  content: string;
}

export interface NewSession {
  agent: string;
  metadata?: Record<string, string>;
  /** Principal id (`key:…`, `oidc:…#sub`, `anonymous`), never a secret. */
  principal: string;
  correlationId: string;
}

/** A turn that failed, recorded when its session is freed (an audit event, docs/audit.md). */
export interface TurnFailure {
  turn: number;
  principal: string;
  /** `cancelled`: the client left; `refused`: a budget or rate limit; `error`: anything else. */
  outcome: 'error' | 'cancelled' | 'refused';
  errorCode: string;
  correlationId: string;
  /** When the turn failed (a release may be retried later). */
  at: Date;
}

/** The right to run one turn: hold it until appendTurn or releaseTurn. */
export interface TurnLease {
  sessionId: string;
  token: string;
  /** The 1-based number this turn will be stored under. */
  turn: number;
  expiresAt: Date;
  /** The session's metadata, as `session.metadata` in the agent's expressions reads it. */
  metadata: Record<string, string>;
}

export type ClaimTurnResult =
  /** `memory`: the window read with the claim, when `memoryMessages` was asked for. */
  | { status: 'claimed'; lease: TurnLease; memory?: MemoryMessage[] }
  /** Another turn holds an unexpired lease. */
  | { status: 'busy' }
  /** Missing, another agent's, deleted or idle-expired. */
  | { status: 'not_found' };

export interface CompletedTurn {
  user: { content: string };
  assistant: { content: string; usage?: UsageDto; toolCalls?: readonly ToolCallDto[] };
  principal: string;
  correlationId: string;
}

export interface Page {
  limit: number;
  offset: number;
}

/**
 * Whose sessions a statement may see or change: one principal's id, or `null` for every
 * principal's (admin, auditor; docs/security.md "Authorization"). Required wherever a caller
 * names a session, so that no query forgets it.
 */
export type SessionOwner = string | null;

/**
 * The turn's lease was released, taken over after expiring, or its session deleted: nothing
 * of the turn was stored. Answered like a concurrent turn (409).
 */
export class SessionLeaseLostError extends SessionBusyError {
  constructor(readonly sessionId: string) {
    super(`Session '${sessionId}' was taken over by another turn or deleted before this turn could be stored; nothing was stored.`);
  }
}

interface SessionRow {
  id: string;
  agent: string;
  metadata: Record<string, string>;
  turns: number;
  created_at: Date;
  last_active_at: Date;
}

interface MessageRow {
  turn: number;
  role: MessageRole;
  content: string;
  usage: UsageDto | null;
  tool_calls: ToolCallDto[] | null;
  message_created_at: Date;
}

const SESSION_COLUMNS = 's.id, s.agent, s.metadata, s.turns, s.created_at, s.last_active_at';

/** `$n` as "now": the injected clock when given, else the database's. */
const now = (n: number) => `coalesce($${n}::timestamptz, now())`;
const milliseconds = (n: number) => `($${n}::double precision * interval '1 millisecond')`;
/** Owned by principal `$n`, or by anyone when `$n` is null (planned away as a constant). */
const ownedBy = (n: number) => `($${n}::text IS NULL OR s.principal = $${n})`;
/** Live = not deleted and, unless the timeout `$idle` is 0, active within it. */
const live = (nowParam: number, idleParam: number) =>
  // One expression rather than `idle <= 0 OR …`, so it bounds an index range on last_active_at.
  `s.status = 'active' AND s.last_active_at >= CASE WHEN $${idleParam}::bigint <= 0 THEN '-infinity'::timestamptz ` +
  `ELSE ${now(nowParam)} - ${milliseconds(idleParam)} END`;

/** The instant before which a session is idle, `$idle` ms before now (meaningful when `$idle` > 0). */
const cutoff = (nowParam: number, idleParam: number) => `(${now(nowParam)} - ${milliseconds(idleParam)})`;
/** Minute number (since the epoch) of a timestamp: the bucket of `session_counts`. */
const minuteOf = (timestamp: string) => `floor(extract(epoch FROM ${timestamp}) / 60)::bigint`;
/**
 * Live sessions of agent `$agent` (of principal `$owner`, every principal's when null): the
 * counted minutes from the idle cut-off's on, less the sessions of that minute that are idle
 * already. Reads at most (idle minutes + 1) × 8 counter rows and the cut-off minute's index
 * range, whatever the number of sessions (migration 1764490100000).
 */
const liveCount = (agentParam: number, ownerParam: number, nowParam: number, idleParam: number) => `(
  SELECT greatest(0, coalesce(sum(c.sessions), 0) - (
    SELECT count(*) FROM sessions s
    WHERE $${idleParam}::bigint > 0 AND s.agent = $${agentParam} AND ${ownedBy(ownerParam)} AND s.status = 'active'
      AND s.last_active_at >= to_timestamp(${minuteOf(cutoff(nowParam, idleParam))} * 60)
      AND s.last_active_at < ${cutoff(nowParam, idleParam)}
  ))::int
  FROM session_counts c
  WHERE c.agent = $${agentParam} AND c.principal = coalesce($${ownerParam}::text, '')
    AND c.minute >= CASE WHEN $${idleParam}::bigint <= 0 THEN (-9223372036854775807)::bigint
                         ELSE ${minuteOf(cutoff(nowParam, idleParam))} END
)`;

/**
 * Claims a turn and reads the memory window (SessionsRepository.claimTurn). The claim commits
 * without waiting for its WAL flush: other replicas see it at once all the same, and should the
 * database crash before the flush, the lost claim only means the turn cannot be stored (its
 * token is unknown), so nothing acknowledged depends on it. The stored turn waits for its flush.
 */
const CLAIM_TURN = `WITH seen AS (
         SELECT s.turns FROM sessions s WHERE s.id = $1 AND s.agent = $2 AND ${ownedBy(7)} AND ${live(3, 4)}
       ), claimed AS (
         UPDATE sessions s SET lease_token = $5, lease_expires_at = ${now(3)} + ${milliseconds(6)}
         WHERE s.id = $1 AND s.agent = $2 AND ${ownedBy(7)} AND ${live(3, 4)}
           AND (s.lease_token IS NULL OR s.lease_expires_at <= ${now(3)})
         RETURNING s.turns, s.lease_expires_at, s.metadata
       )
       SELECT seen.turns AS seen_turns, claimed.turns, claimed.lease_expires_at, claimed.metadata,
              set_config('synchronous_commit', 'off', true) AS commit_mode,
              CASE WHEN claimed.turns IS NOT NULL AND $8::int > 0 THEN (
                SELECT json_agg(json_build_array(w.role, w.content) ORDER BY w.turn, w.id)
                FROM (SELECT m.role, m.content, m.turn, m.id FROM session_messages m
                      WHERE m.session_id = $1 ORDER BY m.turn DESC, m.id DESC LIMIT $8) w
              ) END AS memory
       FROM (SELECT 1) one LEFT JOIN seen ON true LEFT JOIN claimed ON true`;

/** Stores a turn's two messages and releases the lease (SessionsRepository.appendTurn). */
const APPEND_TURN = `WITH bumped AS (
         UPDATE sessions s
         SET turns = s.turns + 1, last_active_at = ${now(3)}, lease_token = NULL, lease_expires_at = NULL
         WHERE s.id = $1 AND s.lease_token = $2 AND s.status = 'active'
         RETURNING s.id, s.turns
       ), stored AS (
         INSERT INTO session_messages (session_id, turn, role, content, usage, tool_calls, principal, correlation_id, created_at)
         SELECT bumped.id, bumped.turns, m.role, m.content, m.usage, m.tool_calls, $8, $9, ${now(3)}
         FROM bumped
         CROSS JOIN (VALUES (1, 'user', $4::text, NULL::jsonb, NULL::jsonb),
                            (2, 'assistant', $5::text, $6::jsonb, $7::jsonb)) AS m (position, role, content, usage, tool_calls)
         ORDER BY m.position
         RETURNING 1
       )
       SELECT turns FROM bumped`;

/** Owns every SQL statement on `sessions`, `session_messages` and `session_counts`. */
@Injectable()
export class SessionsRepository {
  constructor(
    private readonly dataSource: DataSource,
    @Optional() @Inject(SESSIONS_CLOCK) private readonly clock?: Clock,
  ) {}

  async create(input: NewSession): Promise<SessionRecord> {
    const [row] = await this.rows<SessionRow>(
      `INSERT INTO sessions AS s (id, agent, metadata, principal, correlation_id, created_at, last_active_at)
       VALUES ($1, $2, $3::jsonb, $4, $5, ${now(6)}, ${now(6)})
       RETURNING ${SESSION_COLUMNS}`,
      [newSessionId(), input.agent, JSON.stringify(input.metadata ?? {}), input.principal, input.correlationId, this.now()],
    );
    return toSession(row);
  }

  async findLive(agent: string, id: string, idleTimeoutMs: number): Promise<SessionRecord | undefined> {
    const [row] = await this.rows<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions s WHERE s.id = $1 AND s.agent = $2 AND ${live(3, 4)}`,
      [id, agent, this.now(), idleTimeoutMs],
    );
    return row && toSession(row);
  }

  /**
   * Live sessions of an agent (of `owner`), newest first, with the count of all of them. The
   * count comes from `session_counts`, not from counting rows; the page skips `offset` index
   * entries (index-only) and reads only the rows it returns.
   */
  async list(agent: string, owner: SessionOwner, page: Page, idleTimeoutMs: number): Promise<{ sessions: SessionRecord[]; total: number }> {
    assertCount('limit', page.limit, 1);
    assertCount('offset', page.offset, 0);
    const rows = await this.rows<Partial<SessionRow> & { total: number }>(
      `SELECT p.*, ${liveCount(1, 6, 2, 3)} AS total
       FROM (SELECT 1) one
       LEFT JOIN LATERAL (
         SELECT ${SESSION_COLUMNS}
         FROM (
           SELECT s.id FROM sessions s
           WHERE s.agent = $1 AND ${ownedBy(6)} AND ${live(2, 3)}
           ORDER BY s.created_at DESC, s.id DESC
           LIMIT $4 OFFSET $5
         ) page
         JOIN sessions s ON s.id = page.id
       ) p ON true
       ORDER BY p.created_at DESC, p.id DESC`,
      [agent, this.now(), idleTimeoutMs, page.limit, page.offset, owner],
    );
    return {
      sessions: rows.filter((row) => row.id != null).map((row) => toSession(row as SessionRow)),
      total: rows[0]?.total ?? 0,
    };
  }

  /**
   * Takes the session's turn lease in one conditional UPDATE, so no transaction stays open
   * across the model call. A lease past its expiry (its replica crashed) can be taken over.
   * Another owner's session is `not_found`. With `memoryMessages`, the same statement reads the
   * memory window (the newest messages through their index, oldest first).
   */
  async claimTurn(
    agent: string,
    id: string,
    owner: SessionOwner,
    options: { leaseMs: number; idleTimeoutMs: number; memoryMessages?: number },
  ): Promise<ClaimTurnResult> {
    assertCount('leaseMs', options.leaseMs, 1);
    const window = options.memoryMessages;
    if (window !== undefined) assertCount('memoryMessages', window, 0);
    const token = newToken();
    // `seen` reads the statement's snapshot: when the UPDATE lost a race for the row, the
    // session still existed, so the loser is told "busy" rather than "not found". The window is
    // read in that snapshot too; when the claim waited for a turn that committed after it was
    // taken (the claimed `turns` is then ahead of the seen one), the window is read again.
    const [row] = await preparedRows<{
      seen_turns: number | null;
      turns: number | null;
      lease_expires_at: Date | null;
      metadata: Record<string, string> | null;
      memory: [MessageRole, string][] | null;
    }>(this.dataSource, CLAIM_TURN_STATEMENT, [id, agent, this.now(), options.idleTimeoutMs, token, options.leaseMs, owner, window ?? 0]);
    if (row?.turns != null && row.lease_expires_at) {
      const lease: TurnLease = { sessionId: id, token, turn: row.turns + 1, expiresAt: row.lease_expires_at, metadata: row.metadata ?? {} };
      if (window === undefined) return { status: 'claimed', lease };
      const memory =
        row.seen_turns === row.turns
          ? (row.memory ?? []).map(([role, content]) => ({ role, content }))
          : await this.memoryWindow(id, window);
      return { status: 'claimed', lease, memory };
    }
    return row?.seen_turns != null ? { status: 'busy' } : { status: 'not_found' };
  }

  /** Extends a held lease (heartbeat of a long turn). False when it is no longer held. */
  async renewLease(id: string, token: string, leaseMs: number): Promise<boolean> {
    assertCount('leaseMs', leaseMs, 1);
    const rows = await this.rows(
      `UPDATE sessions s SET lease_expires_at = ${now(3)} + ${milliseconds(4)}
       WHERE s.id = $1 AND s.lease_token = $2 AND s.status = 'active'
       RETURNING s.id`,
      [id, token, this.now(), leaseMs],
    );
    return rows.length === 1;
  }

  /** Gives the lease back without storing anything (the turn failed). */
  async releaseTurn(id: string, token: string, failure?: TurnFailure): Promise<boolean> {
    if (!failure) {
      const rows = await this.rows(
        `UPDATE sessions s SET lease_token = NULL, lease_expires_at = NULL
         WHERE s.id = $1 AND s.lease_token = $2
         RETURNING s.id`,
        [id, token],
      );
      return rows.length === 1;
    }
    // The failure is recorded whether or not the lease is still ours (the turn failed either
    // way), in the same statement as the release; its trigger writes the audit event. Not when
    // this very call's turn is stored after all (its COMMIT went through, the answer was lost).
    const [row] = await this.rows<{ released: number }>(
      `WITH released AS (
         UPDATE sessions s SET lease_token = NULL, lease_expires_at = NULL
         WHERE s.id = $1 AND s.lease_token = $2
         RETURNING s.id
       ), recorded AS (
         INSERT INTO session_turn_failures (session_id, turn, principal, outcome, error_code, correlation_id, at)
         SELECT s.id, $3, $4, $5, $6, $7, $8 FROM sessions s
         WHERE s.id = $1
           AND NOT EXISTS (SELECT 1 FROM session_messages m WHERE m.session_id = $1 AND m.turn = $3 AND m.correlation_id = $7)
         ON CONFLICT ON CONSTRAINT uq_session_turn_failures_turn DO NOTHING
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM released)::int AS released`,
      [id, token, failure.turn, failure.principal, failure.outcome, failure.errorCode, failure.correlationId, failure.at],
    );
    return row?.released === 1;
  }

  /**
   * Stores a finished turn and releases its lease, all or nothing: one statement, hence one
   * transaction, whose UPDATE only matches while the lease token is still ours.
   * @returns the stored turn number
   * @throws SessionLeaseLostError when the lease is no longer held (nothing stored)
   */
  async appendTurn(id: string, token: string, turn: CompletedTurn): Promise<number> {
    const toolCalls = turn.assistant.toolCalls?.length ? JSON.stringify(turn.assistant.toolCalls) : null;
    const [row] = await preparedRows<{ turns: number }>(this.dataSource, APPEND_TURN_STATEMENT, [
      id,
      token,
      this.now(),
      turn.user.content,
      turn.assistant.content,
      turn.assistant.usage ? JSON.stringify(turn.assistant.usage) : null,
      toolCalls,
      turn.principal,
      turn.correlationId,
    ]);
    if (!row) throw new SessionLeaseLostError(id);
    return row.turns;
  }

  /** The last `maxMessages` messages, oldest first; reads only those rows (index + LIMIT). */
  async memoryWindow(id: string, maxMessages: number): Promise<MemoryMessage[]> {
    assertCount('maxMessages', maxMessages, 0);
    if (maxMessages === 0) return [];
    const rows = await this.rows<MemoryMessage>(
      'SELECT m.role, m.content FROM session_messages m WHERE m.session_id = $1 ORDER BY m.turn DESC, m.id DESC LIMIT $2',
      [id, maxMessages],
    );
    return rows.reverse().map((row) => ({ role: row.role, content: row.content }));
  }

  /**
   * The audit view: the session and every message in order. Deleted sessions are not shown;
   * idle-expired ones are not either when `idleTimeoutMs` is above 0, nor another owner's.
   */
  async history(agent: string, id: string, owner: SessionOwner, idleTimeoutMs = 0): Promise<SessionHistory | undefined> {
    const rows = await this.rows<SessionRow & Partial<MessageRow>>(
      `SELECT ${SESSION_COLUMNS}, m.turn, m.role, m.content, m.usage, m.tool_calls, m.created_at AS message_created_at
       FROM sessions s
       LEFT JOIN session_messages m ON m.session_id = s.id
       WHERE s.id = $1 AND s.agent = $2 AND ${ownedBy(5)} AND ${live(3, 4)}
       ORDER BY m.turn, m.id`,
      [id, agent, this.now(), idleTimeoutMs, owner],
    );
    if (rows.length === 0) return undefined;
    const messages = rows.filter((row) => row.turn != null).map((row) => toMessage(row as MessageRow));
    return { ...toSession(rows[0]), messages };
  }

  /** Marks the session deleted; its rows stay for audit until retention. False if unknown (or another owner's). */
  async softDelete(agent: string, id: string, owner: SessionOwner): Promise<boolean> {
    const rows = await this.rows(
      `UPDATE sessions s SET status = 'deleted', deleted_at = ${now(3)}
       WHERE s.id = $1 AND s.agent = $2 AND ${ownedBy(4)} AND s.status = 'active'
       RETURNING s.id`,
      [id, agent, this.now(), owner],
    );
    return rows.length === 1;
  }

  /** Live sessions per agent (agents without any are absent), from `session_counts` as `list` counts them. */
  async countActiveByAgent(idleTimeoutMs: number): Promise<Map<string, number>> {
    const rows = await this.rows<{ agent: string; sessions: number }>(
      `SELECT t.agent, sum(t.n)::int AS sessions FROM (
         SELECT c.agent, c.sessions::bigint AS n FROM session_counts c
         WHERE c.principal = '' AND c.minute >= CASE WHEN $2::bigint <= 0 THEN (-9223372036854775807)::bigint
                                                     ELSE ${minuteOf(cutoff(1, 2))} END
         UNION ALL
         SELECT s.agent, -count(*) FROM sessions s
         WHERE $2::bigint > 0 AND s.status = 'active'
           AND s.last_active_at >= to_timestamp(${minuteOf(cutoff(1, 2))} * 60) AND s.last_active_at < ${cutoff(1, 2)}
         GROUP BY s.agent
       ) t
       GROUP BY t.agent HAVING sum(t.n) > 0`,
      [this.now(), idleTimeoutMs],
    );
    return new Map(rows.map((row) => [row.agent, row.sessions]));
  }

  /**
   * Folds the counter rows of minutes older than `keepMs` before now into one row per agent and
   * principal (minute 0), so that the counters stay as many as the minutes still read. Rows
   * another statement holds are left for the next run.
   * @returns the number of rows folded
   */
  async compactCounts(keepMs: number): Promise<number> {
    assertCount('keepMs', keepMs, 1);
    const [row] = await this.rows<{ folded: number }>(
      `WITH old AS (
         SELECT c.agent, c.principal, c.minute, c.stripe FROM session_counts c
         WHERE c.minute < ${minuteOf(`(${now(1)} - ${milliseconds(2)})`)} AND c.minute <> 0
         ORDER BY c.agent, c.principal, c.minute, c.stripe
         FOR UPDATE SKIP LOCKED
       ), folded AS (
         DELETE FROM session_counts c USING old
         WHERE c.agent = old.agent AND c.principal = old.principal AND c.minute = old.minute AND c.stripe = old.stripe
         RETURNING c.agent, c.principal, c.sessions
       ), kept AS (
         INSERT INTO session_counts AS c (agent, principal, minute, stripe, sessions)
         SELECT f.agent, f.principal, 0, 0, sum(f.sessions) FROM folded f
         GROUP BY f.agent, f.principal ORDER BY f.agent, f.principal
         ON CONFLICT ON CONSTRAINT pk_session_counts DO UPDATE SET sessions = c.sessions + excluded.sessions
         RETURNING 1
       )
       SELECT (SELECT count(*) FROM folded)::int AS folded, (SELECT count(*) FROM kept)::int AS kept`,
      [this.now(), keepMs],
    );
    return row?.folded ?? 0;
  }

  /**
   * Deletes sessions (their messages by cascade) inactive for longer than `retentionMs`, in
   * batches of `batchSize`, oldest first. Sessions in the middle of a turn are left alone.
   * Runs only when this replica gets the purge lock; otherwise returns 0 at once.
   * @returns the number of sessions deleted
   */
  async purgeExpired(retentionMs: number, batchSize: number, options: { signal?: AbortSignal } = {}): Promise<number> {
    assertCount('retentionMs', retentionMs, 1);
    assertCount('batchSize', batchSize, 1);
    // Session-level advisory locks belong to a connection, so the lock, the batches and the
    // unlock all go through this one.
    const runner = this.dataSource.createQueryRunner();
    try {
      const [lock] = await this.rows<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [SESSION_PURGE_LOCK_KEY], runner);
      if (!lock?.locked) return 0;
      try {
        let purged = 0;
        while (!options.signal?.aborted) {
          const deleted = await this.rows(
            `DELETE FROM sessions WHERE id IN (
               SELECT s.id FROM sessions s
               WHERE s.last_active_at < ${now(1)} - ${milliseconds(2)}
                 AND (s.lease_expires_at IS NULL OR s.lease_expires_at <= ${now(1)})
               ORDER BY s.last_active_at
               LIMIT $3
               FOR UPDATE SKIP LOCKED
             )
             RETURNING id`,
            [this.now(), retentionMs, batchSize],
            runner,
          );
          purged += deleted.length;
          if (deleted.length < batchSize) break;
        }
        return purged;
      } finally {
        await runner.query('SELECT pg_advisory_unlock($1)', [SESSION_PURGE_LOCK_KEY]).catch(() => undefined);
      }
    } finally {
      await runner.release();
    }
  }

  private now(): Date | null {
    return this.clock ? this.clock() : null;
  }

  /**
   * Runs one statement and returns its rows, whatever the command (TypeORM's plain `query`
   * answers `[rows, count]` for UPDATE and DELETE). Errors pass through untouched, so a lost
   * connection stays recognisable by isDatabaseUnavailable().
   */
  private rows<T = Record<string, unknown>>(sql: string, parameters: unknown[], runner?: QueryRunner): Promise<T[]> {
    return queryRows<T>(runner ?? this.dataSource, sql, parameters);
  }
}

/**
 * The turn path's two statements, prepared once per connection: once PostgreSQL settles on a
 * generic plan (both are primary key lookups) it plans them no more, which halves the
 * database's work per turn (issue 16).
 */
const CLAIM_TURN_STATEMENT = preparedStatement('sessions', CLAIM_TURN);
const APPEND_TURN_STATEMENT = preparedStatement('sessions', APPEND_TURN);

/** `sess_` + 144 random bits, URL-safe, from the pooled CSPRNG buffer the lease tokens use. */
export function newSessionId(): string {
  return `sess_${newToken(18)}`;
}

function toSession(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    agent: row.agent,
    metadata: row.metadata,
    turns: row.turns,
    createdAt: row.created_at,
    lastActiveAt: row.last_active_at,
  };
}

function toMessage(row: MessageRow): SessionMessage {
  const message: SessionMessage = { turn: row.turn, role: row.role, content: row.content, createdAt: row.message_created_at };
  if (row.usage) message.usage = row.usage;
  if (row.tool_calls) message.toolCalls = row.tool_calls;
  return message;
}

function assertCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) throw new RangeError(`${name} must be an integer ≥ ${min}, got ${value}`);
}
