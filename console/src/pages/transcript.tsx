import { useEffect, useState } from 'react';
import { apiPath, saveFile } from '../api';
import { ErrorMessage, formatDuration, formatUsage, Json, Loading, PageTitle, Time } from '../components/common';
import { Link, withParams } from '../router';
import { useSignedIn } from '../session';
import type { AuditEvent, SessionHistory, Usage } from '../types';

export function TranscriptPage({ agent, sessionId }: { agent: string; sessionId: string }) {
  const { api, canReadAudit } = useSignedIn();
  const [history, setHistory] = useState<SessionHistory>();
  const [principal, setPrincipal] = useState<string>();
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    api.get<SessionHistory>(apiPath('/v1/agents', agent, 'sessions', sessionId)).then(setHistory, setError);
  }, [api, agent, sessionId]);

  // The session answer does not name its creator; the audit does, for those who may read it.
  useEffect(() => {
    if (!history || !canReadAudit) return;
    const created = new Date(history.created_at).getTime();
    api
      .get<{ events: AuditEvent[] }>('/v1/audit/events', {
        agent,
        kind: 'session_created',
        since: new Date(created - 5_000).toISOString(),
        until: new Date(created + 5_000).toISOString(),
        limit: 500,
      })
      .then((answer) => setPrincipal(answer.events.find((event) => event.session_id === sessionId)?.principal ?? undefined))
      .catch(() => setPrincipal(undefined));
  }, [api, agent, sessionId, history, canReadAudit]);

  const totals = history?.messages.reduce<Usage>(
    (sum, message) => ({
      input_tokens: sum.input_tokens + (message.usage?.input_tokens ?? 0),
      output_tokens: sum.output_tokens + (message.usage?.output_tokens ?? 0),
      total_tokens: sum.total_tokens + (message.usage?.total_tokens ?? 0),
    }),
    { input_tokens: 0, output_tokens: 0, total_tokens: 0 },
  );

  return (
    <>
      <PageTitle title={`Session ${sessionId}`}>Transcript</PageTitle>
      <p>
        <Link to={withParams('/sessions', { agent })}>All sessions of {agent}</Link>
      </p>
      <ErrorMessage error={error} />
      {!history && !error && <Loading what="the transcript" />}
      {history && (
        <>
          <dl className="facts">
            <dt>Session</dt>
            <dd>
              <code>{history.session_id}</code>
            </dd>
            <dt>Agent</dt>
            <dd>{history.agent}</dd>
            <dt>Principal</dt>
            <dd>{principal ?? (canReadAudit ? 'not found in the audit' : 'shown to administrators and auditors')}</dd>
            <dt>Created</dt>
            <dd>
              <Time value={history.created_at} />
            </dd>
            <dt>Last active</dt>
            <dd>
              <Time value={history.last_active_at} />
            </dd>
            <dt>Turns</dt>
            <dd>{history.turns}</dd>
            <dt>Tokens</dt>
            <dd>{formatUsage(totals)}</dd>
            {Object.keys(history.metadata).length > 0 && (
              <>
                <dt>Metadata</dt>
                <dd>
                  {Object.entries(history.metadata)
                    .map(([key, value]) => `${key}=${value}`)
                    .join(', ')}
                </dd>
              </>
            )}
          </dl>
          <div className="actions">
            <button
              type="button"
              onClick={() => saveFile(`${history.session_id}.json`, JSON.stringify({ ...history, principal: principal ?? null }, null, 2))}
            >
              Export JSON
            </button>
            <Link className="button" to={withParams('/playground', { agent, session: sessionId })}>
              Continue in the playground
            </Link>
          </div>
          <h2>Turns</h2>
          {history.messages.length === 0 && <p className="muted">No turn yet.</p>}
          <ol className="transcript">
            {history.messages.map((message, index) => (
              <li key={index} className={`message ${message.role}`}>
                <span className="who-label">
                  {message.role === 'user' ? 'User' : 'Agent'} · turn {message.turn} · <Time value={message.created_at} />
                </span>
                {message.tool_calls?.map((call, callIndex) => (
                  <details key={callIndex} className="tool-call">
                    <summary>
                      Tool call: {call.name} ({formatDuration(call.duration_ms)}){call.error ? ' — failed' : ''}
                    </summary>
                    <h3>Arguments</h3>
                    <Json value={call.arguments} />
                    <h3>{call.error ? 'Error' : 'Output'}</h3>
                    <pre className="json">{call.error ?? call.output}</pre>
                  </details>
                ))}
                <p className="answer">{message.content}</p>
                {message.usage && <span className="usage">{formatUsage(message.usage)}</span>}
              </li>
            ))}
          </ol>
        </>
      )}
    </>
  );
}
