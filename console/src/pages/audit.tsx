import { type FormEvent, useCallback, useEffect, useState } from 'react';
import { saveFile } from '../api';
import { ErrorMessage, Loading, PageTitle, StatusBadge, TableScroll, Time } from '../components/common';
import { Link } from '../router';
import { useSignedIn } from '../session';
import { AUDIT_KINDS, AUDIT_OUTCOMES, type AuditChain, type AuditEvent } from '../types';

interface Filters {
  principal: string;
  agent: string;
  pipeline: string;
  kind: string[];
  outcome: string[];
  since: string;
  until: string;
  limit: string;
}

const EMPTY: Filters = { principal: '', agent: '', pipeline: '', kind: [], outcome: [], since: '', until: '', limit: '50' };

/** The API's query from the form: datetime-local values are local times, sent as RFC 3339. */
function queryOf(filters: Filters) {
  const instant = (value: string) => (value ? new Date(value).toISOString() : undefined);
  return {
    principal: filters.principal.trim() || undefined,
    agent: filters.agent.trim() || undefined,
    pipeline: filters.pipeline.trim() || undefined,
    kind: filters.kind.length ? filters.kind.join(',') : undefined,
    outcome: filters.outcome.length ? filters.outcome.join(',') : undefined,
    since: instant(filters.since),
    until: instant(filters.until),
  };
}

export function AuditPage() {
  const { api } = useSignedIn();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [events, setEvents] = useState<AuditEvent[]>();
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(false);

  const load = useCallback(
    async (filters: Filters, after?: string) => {
      setLoading(true);
      setError(undefined);
      try {
        const page = await api.get<{ events: AuditEvent[]; next_cursor: string | null }>('/v1/audit/events', {
          ...queryOf(filters),
          limit: filters.limit,
          cursor: after,
        });
        setEvents((current) => (after ? [...(current ?? []), ...page.events] : page.events));
        setCursor(page.next_cursor);
      } catch (failure) {
        setError(failure);
      } finally {
        setLoading(false);
      }
    },
    [api],
  );

  useEffect(() => void load(EMPTY), [load]);

  const apply = (event: FormEvent) => {
    event.preventDefault();
    setApplied(draft);
    void load(draft);
  };
  const reset = () => {
    setDraft(EMPTY);
    setApplied(EMPTY);
    void load(EMPTY);
  };
  const exportAs = async (format: 'jsonl' | 'csv') => {
    try {
      const file = await api.download('/v1/audit/export', { ...queryOf(applied), format });
      saveFile(`audit-${new Date().toISOString().replace(/[:.]/g, '-')}.${format}`, file);
    } catch (failure) {
      setError(failure);
    }
  };
  const toggle = (field: 'kind' | 'outcome', value: string, on: boolean) =>
    setDraft((current) => ({ ...current, [field]: on ? [...current[field], value] : current[field].filter((item) => item !== value) }));

  return (
    <>
      <PageTitle title="Audit">Audit</PageTitle>
      <ChainStatus />
      <form className="filters audit-filters" onSubmit={apply} aria-labelledby="filters-title">
        <h2 id="filters-title">Filters</h2>
        <div className="field">
          <label htmlFor="audit-principal">Principal</label>
          <input id="audit-principal" value={draft.principal} onChange={(event) => setDraft({ ...draft, principal: event.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="audit-agent">Agent</label>
          <input id="audit-agent" value={draft.agent} onChange={(event) => setDraft({ ...draft, agent: event.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="audit-pipeline">Pipeline</label>
          <input id="audit-pipeline" value={draft.pipeline} onChange={(event) => setDraft({ ...draft, pipeline: event.target.value })} />
        </div>
        <div className="field">
          <label htmlFor="audit-since">From (inclusive)</label>
          <input
            id="audit-since"
            type="datetime-local"
            step="1"
            value={draft.since}
            onChange={(event) => setDraft({ ...draft, since: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="audit-until">Until (exclusive)</label>
          <input
            id="audit-until"
            type="datetime-local"
            step="1"
            value={draft.until}
            onChange={(event) => setDraft({ ...draft, until: event.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor="audit-limit">Per page</label>
          <select id="audit-limit" value={draft.limit} onChange={(event) => setDraft({ ...draft, limit: event.target.value })}>
            {['50', '100', '200', '500'].map((value) => (
              <option key={value}>{value}</option>
            ))}
          </select>
        </div>
        <fieldset className="checks">
          <legend>Kind</legend>
          {AUDIT_KINDS.map((kind) => (
            <label key={kind}>
              <input type="checkbox" checked={draft.kind.includes(kind)} onChange={(event) => toggle('kind', kind, event.target.checked)} />{' '}
              {kind}
            </label>
          ))}
        </fieldset>
        <fieldset className="checks">
          <legend>Outcome</legend>
          {AUDIT_OUTCOMES.map((outcome) => (
            <label key={outcome}>
              <input
                type="checkbox"
                checked={draft.outcome.includes(outcome)}
                onChange={(event) => toggle('outcome', outcome, event.target.checked)}
              />{' '}
              {outcome}
            </label>
          ))}
        </fieldset>
        <div className="actions">
          <button type="submit" className="primary">
            Apply filters
          </button>
          <button type="button" onClick={reset}>
            Clear
          </button>
          <button type="button" onClick={() => void exportAs('jsonl')}>
            Export JSONL
          </button>
          <button type="button" onClick={() => void exportAs('csv')}>
            Export CSV
          </button>
        </div>
      </form>
      <ErrorMessage error={error} />
      {!events && loading && <Loading what="audit events" />}
      {events && (
        <section aria-labelledby="events-title">
          <h2 id="events-title">Events</h2>
          <p role="status">
            {events.length} event{events.length === 1 ? '' : 's'} shown{cursor ? ', more available' : ''}.
          </p>
          <TableScroll label="Audit events">
            <table className="events">
              <thead>
                <tr>
                  <th scope="col">Time</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Outcome</th>
                  <th scope="col">Principal</th>
                  <th scope="col">Agent / pipeline</th>
                  <th scope="col">Session / run</th>
                  <th scope="col">Seq</th>
                  <th scope="col">Detail</th>
                </tr>
              </thead>
              <tbody>
                {events.map((event) => (
                  <tr key={event.id} data-kind={event.kind}>
                    <td>
                      <Time value={event.at} />
                    </td>
                    <td className="nowrap">{event.kind}</td>
                    <td>
                      <StatusBadge status={event.outcome} />
                    </td>
                    <td>{event.principal ?? '—'}</td>
                    <td>{event.agent ?? event.pipeline ?? '—'}</td>
                    <td>
                      <EventLink event={event} />
                    </td>
                    <td>{event.seq ?? 'pending'}</td>
                    <td>
                      {Object.keys(event.detail).length > 0 ? (
                        <details>
                          <summary>Detail</summary>
                          <pre className="json">{JSON.stringify(event.detail, null, 2)}</pre>
                          {event.correlation_id && <p>Correlation id: {event.correlation_id}</p>}
                        </details>
                      ) : (
                        (event.correlation_id ?? '—')
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </TableScroll>
          {cursor && (
            <button type="button" onClick={() => void load(applied, cursor)} disabled={loading}>
              {loading ? 'Loading…' : 'Load older events'}
            </button>
          )}
        </section>
      )}
    </>
  );
}

function EventLink({ event }: { event: AuditEvent }) {
  if (event.session_id && event.agent) {
    return <Link to={`/sessions/${encodeURIComponent(event.agent)}/${encodeURIComponent(event.session_id)}`}>{event.session_id}</Link>;
  }
  if (event.run_id && event.pipeline) {
    return <Link to={`/pipelines/${encodeURIComponent(event.pipeline)}/runs/${encodeURIComponent(event.run_id)}`}>{event.run_id}</Link>;
  }
  return <>{event.session_id ?? event.run_id ?? '—'}</>;
}

function ChainStatus() {
  const { api } = useSignedIn();
  const [chain, setChain] = useState<AuditChain>();
  const [verifying, setVerifying] = useState(false);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api.get<AuditChain>('/v1/audit/chain').then(setChain, setError);
  }, [api]);
  const verify = async () => {
    setVerifying(true);
    setError(undefined);
    try {
      setChain(await api.post<AuditChain>('/v1/audit/chain/verify'));
    } catch (failure) {
      setError(failure);
    } finally {
      setVerifying(false);
    }
  };
  const last = chain?.last_verification;
  return (
    <section className="card chain" aria-labelledby="chain-title">
      <h2 id="chain-title">Hash chain</h2>
      <ErrorMessage error={error} />
      {!chain && !error && <Loading what="the chain" />}
      {chain && (
        <dl className="facts">
          <dt>Sealed events</dt>
          <dd>{chain.sealed}</dd>
          <dt>Waiting to be sealed</dt>
          <dd>{chain.pending}</dd>
          <dt>Head</dt>
          <dd>{chain.head_seq ?? '—'}</dd>
          <dt>Last verification</dt>
          <dd aria-live="polite" id="chain-verification">
            {last ? (
              <>
                <StatusBadge status={last.status} /> {last.checked} checked, <Time value={last.at} />
                {last.first_broken && (
                  <>
                    {' '}
                    — first broken link: seq {last.first_broken.seq} ({last.first_broken.id}): {last.first_broken.reason}
                  </>
                )}
              </>
            ) : (
              'never'
            )}
          </dd>
        </dl>
      )}
      <button type="button" onClick={() => void verify()} disabled={verifying}>
        {verifying ? 'Verifying…' : 'Verify the chain now'}
      </button>
    </section>
  );
}
