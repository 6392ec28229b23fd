import { randomBytes } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, type QueryRunner } from 'typeorm';
import { queryRows } from '../database/query-rows.js';
import { SessionBusyError } from '../common/errors/domain-errors.js';
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
  | { status: 'claimed'; lease: TurnLease }
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
    super(
      `Session '${sessionId}' was taken over by another turn or deleted before this turn could be stored; nothing was stored.`,
    );
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

/** Owns every SQL statement on `sessions` and `session_messages`. */
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

  /** Live sessions of an agent (of `owner`), newest first, with the count of all of them. */
  async list(agent: string, owner: SessionOwner, page: Page, idleTimeoutMs: number): Promise<{ sessions: SessionRecord[]; total: number }> {
    assertCount('limit', page.limit, 1);
    assertCount('offset', page.offset, 0);
    const rows = await this.rows<Partial<SessionRow> & { total: number }>(
      `SELECT p.*, t.total
       FROM (SELECT count(*)::int AS total FROM sessions s WHERE s.agent = $1 AND ${ownedBy(6)} AND ${live(2, 3)}) t
       LEFT JOIN LATERAL (
         SELECT ${SESSION_COLUMNS} FROM sessions s
         WHERE s.agent = $1 AND ${ownedBy(6)} AND ${live(2, 3)}
         ORDER BY s.created_at DESC, s.id DESC
         LIMIT $4 OFFSET $5
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
   * Another owner's session is `not_found`.
   */
  async claimTurn(agent: string, id: string, owner: SessionOwner, options: { leaseMs: number; idleTimeoutMs: number }): Promise<ClaimTurnResult> {
    assertCount('leaseMs', options.leaseMs, 1);
    const token = randomBytes(16).toString('base64url');
    // `found` reads the statement's snapshot: when the UPDATE lost a race for the row, the
    // session still existed, so the loser is told "busy" rather than "not found".
    const [row] = await this.rows<{ found: boolean; turns: number | null; lease_expires_at: Date | null; metadata: Record<string, string> | null }>(
      `WITH found AS (
         SELECT 1 FROM sessions s WHERE s.id = $1 AND s.agent = $2 AND ${ownedBy(7)} AND ${live(3, 4)}
       ), claimed AS (
         UPDATE sessions s SET lease_token = $5, lease_expires_at = ${now(3)} + ${milliseconds(6)}
         WHERE s.id = $1 AND s.agent = $2 AND ${ownedBy(7)} AND ${live(3, 4)}
           AND (s.lease_token IS NULL OR s.lease_expires_at <= ${now(3)})
         RETURNING s.turns, s.lease_expires_at, s.metadata
       )
       SELECT EXISTS (SELECT 1 FROM found) AS found,
              (SELECT turns FROM claimed) AS turns,
              (SELECT lease_expires_at FROM claimed) AS lease_expires_at,
              (SELECT metadata FROM claimed) AS metadata`,
      [id, agent, this.now(), options.idleTimeoutMs, token, options.leaseMs, owner],
    );
    if (row?.turns != null && row.lease_expires_at) {
      return {
        status: 'claimed',
        lease: { sessionId: id, token, turn: row.turns + 1, expiresAt: row.lease_expires_at, metadata: row.metadata ?? {} },
      };
    }
    return row?.found ? { status: 'busy' } : { status: 'not_found' };
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
  async releaseTurn(id: string, token: string): Promise<boolean> {
    const rows = await this.rows(
      `UPDATE sessions s SET lease_token = NULL, lease_expires_at = NULL
       WHERE s.id = $1 AND s.lease_token = $2
       RETURNING s.id`,
      [id, token],
    );
    return rows.length === 1;
  }

  /**
   * Stores a finished turn and releases its lease, all or nothing: one statement, hence one
   * transaction, whose UPDATE only matches while the lease token is still ours.
   * @returns the stored turn number
   * @throws SessionLeaseLostError when the lease is no longer held (nothing stored)
   */
  async appendTurn(id: string, token: string, turn: CompletedTurn): Promise<number> {
    const toolCalls = turn.assistant.toolCalls?.length ? JSON.stringify(turn.assistant.toolCalls) : null;
    const [row] = await this.rows<{ turns: number }>(
      `WITH bumped AS (
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
       SELECT turns FROM bumped`,
      [
        id,
        token,
        this.now(),
        turn.user.content,
        turn.assistant.content,
        turn.assistant.usage ? JSON.stringify(turn.assistant.usage) : null,
        toolCalls,
        turn.principal,
        turn.correlationId,
      ],
    );
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

  /** Live sessions per agent (agents without any are absent). */
  async countActiveByAgent(idleTimeoutMs: number): Promise<Map<string, number>> {
    const rows = await this.rows<{ agent: string; sessions: number }>(
      `SELECT s.agent, count(*)::int AS sessions FROM sessions s WHERE ${live(1, 2)} GROUP BY s.agent`,
      [this.now(), idleTimeoutMs],
    );
    return new Map(rows.map((row) => [row.agent, row.sessions]));
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
      const [lock] = await this.rows<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS locked',
        [SESSION_PURGE_LOCK_KEY],
        runner,
      );
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

/** `sess_` + 144 random bits, URL-safe. */
export function newSessionId(): string {
  return `sess_${randomBytes(18).toString('base64url')}`;
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
