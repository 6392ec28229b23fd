import { type FormEvent, useEffect, useState } from 'react';
import { apiPath } from '../api';
import { ErrorMessage, Loading, PageTitle, Pager, TableScroll, Time } from '../components/common';
import { Link, navigate, withParams } from '../router';
import { useSignedIn } from '../session';
import type { AgentSummary, SessionSummary } from '../types';

const PAGE = 20;
/** Without an agent chosen, the newest sessions of each agent, merged (the API lists per agent). */
const PER_AGENT = 100;

export function SessionsPage({ agent }: { agent?: string }) {
  const { api } = useSignedIn();
  const [agents, setAgents] = useState<AgentSummary[]>();
  const [sessions, setSessions] = useState<SessionSummary[]>();
  const [total, setTotal] = useState(0);
  const [offset, setOffset] = useState(0);
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>();

  useEffect(() => {
    api.get<{ agents: AgentSummary[] }>('/v1/agents').then((answer) => setAgents(answer.agents), setError);
  }, [api]);

  useEffect(() => setOffset(0), [agent]);

  useEffect(() => {
    if (!agents) return;
    setSessions(undefined);
    setError(undefined);
    const names = agent ? [agent] : agents.map((candidate) => candidate.name);
    const limit = agent ? PAGE : PER_AGENT;
    Promise.all(
      names.map((name) =>
        api.get<{ sessions: SessionSummary[]; total: number }>(apiPath('/v1/agents', name, 'sessions'), {
          limit,
          offset: agent ? offset : 0,
        }),
      ),
    ).then((pages) => {
      setSessions(pages.flatMap((page) => page.sessions).sort((a, b) => b.last_active_at.localeCompare(a.last_active_at)));
      setTotal(pages.reduce((sum, page) => sum + page.total, 0));
    }, setError);
  }, [api, agents, agent, offset]);

  const needle = text.trim().toLowerCase();
  const shown = sessions?.filter(
    (session) =>
      !needle ||
      session.session_id.toLowerCase().includes(needle) ||
      Object.entries(session.metadata).some(([key, value]) => `${key}=${value}`.toLowerCase().includes(needle)),
  );

  return (
    <>
      <PageTitle title="Sessions">Sessions</PageTitle>
      <form className="filters" onSubmit={(event: FormEvent) => event.preventDefault()} aria-label="Filter sessions">
        <div className="field">
          <label htmlFor="session-agent">Agent</label>
          <select
            id="session-agent"
            value={agent ?? ''}
            onChange={(event) => navigate(withParams('/sessions', { agent: event.target.value }))}
          >
            <option value="">All agents</option>
            {agents?.map((candidate) => (
              <option key={candidate.name} value={candidate.name}>
                {candidate.name}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="session-text">Session id or metadata contains</label>
          <input id="session-text" type="search" value={text} onChange={(event) => setText(event.target.value)} />
        </div>
      </form>
      <ErrorMessage error={error} />
      {!shown && !error && <Loading what="sessions" />}
      {shown && (
        <>
          <p role="status">
            {shown.length} shown of {total} live session{total === 1 ? '' : 's'}
            {!agent && total > shown.length && !needle
              ? ` (the newest ${PER_AGENT} of each agent; choose an agent to page through all)`
              : ''}
            .
          </p>
          <TableScroll label="Sessions">
            <table>
              <thead>
                <tr>
                  <th scope="col">Session</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Turns</th>
                  <th scope="col">Created</th>
                  <th scope="col">Last active</th>
                  <th scope="col">Metadata</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((session) => (
                  <tr key={session.session_id}>
                    <td>
                      <Link to={`/sessions/${encodeURIComponent(session.agent)}/${encodeURIComponent(session.session_id)}`}>
                        {session.session_id}
                      </Link>
                    </td>
                    <td>{session.agent}</td>
                    <td>{session.turns}</td>
                    <td>
                      <Time value={session.created_at} />
                    </td>
                    <td>
                      <Time value={session.last_active_at} />
                    </td>
                    <td>
                      {Object.entries(session.metadata)
                        .map(([key, value]) => `${key}=${value}`)
                        .join(', ') || '—'}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {agent && <Pager offset={offset} size={PAGE} total={total} onChange={setOffset} />}
        </>
      )}
    </>
  );
}
