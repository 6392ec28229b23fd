import { type FormEvent, useEffect, useState } from 'react';
import { apiPath } from '../api';
import { ErrorMessage, formatDuration, formatUsage, Loading, PageTitle, Pager, StatusBadge, TableScroll, Time } from '../components/common';
import { Link, navigate, withParams } from '../router';
import { rememberRunInput } from '../run-inputs';
import { useSignedIn } from '../session';
import type { PipelineSummary, RunSummary } from '../types';

const PAGE = 20;

export function PipelinesPage({ pipeline: chosen }: { pipeline?: string }) {
  const { api } = useSignedIn();
  const [pipelines, setPipelines] = useState<PipelineSummary[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api.get<{ pipelines: PipelineSummary[] }>('/v1/pipelines').then((answer) => setPipelines(answer.pipelines), setError);
  }, [api]);
  const pipeline = pipelines?.find((candidate) => candidate.name === chosen) ?? pipelines?.[0];

  return (
    <>
      <PageTitle title="Pipelines">Pipelines</PageTitle>
      <ErrorMessage error={error} />
      {!pipelines && !error && <Loading what="pipelines" />}
      {pipelines?.length === 0 && <p>No pipeline is available to you.</p>}
      {pipelines && pipeline && (
        <>
          <div className="field">
            <label htmlFor="pipeline">Pipeline</label>
            <select
              id="pipeline"
              value={pipeline.name}
              onChange={(event) => navigate(withParams('/pipelines', { pipeline: event.target.value }))}
            >
              {pipelines.map((candidate) => (
                <option key={candidate.name} value={candidate.name}>
                  {candidate.name}
                </option>
              ))}
            </select>
          </div>
          {pipeline.description && <p>{pipeline.description}</p>}
          <p className="muted">Steps: {pipeline.steps.map((step) => `${step.name} (${step.agent})`).join(', ')}</p>
          <StartRun key={`start-${pipeline.name}`} pipeline={pipeline.name} />
          <Runs key={`runs-${pipeline.name}`} pipeline={pipeline.name} />
        </>
      )}
    </>
  );
}

function StartRun({ pipeline }: { pipeline: string }) {
  const { api } = useSignedIn();
  const [input, setInput] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const start = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const run = await api.post<{ run_id: string }>(apiPath('/v1/pipelines', pipeline, 'run'), { input, options: { async: true } });
      rememberRunInput(run.run_id, input);
      navigate(`/pipelines/${encodeURIComponent(pipeline)}/runs/${encodeURIComponent(run.run_id)}`);
    } catch (failure) {
      setError(failure);
      setBusy(false);
    }
  };
  return (
    <form className="card" onSubmit={(event) => void start(event)} aria-labelledby="start-title">
      <h2 id="start-title">Start a run</h2>
      <label htmlFor="run-input">Input</label>
      <textarea id="run-input" rows={3} value={input} onChange={(event) => setInput(event.target.value)} />
      <ErrorMessage error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Starting…' : 'Start run'}
      </button>
    </form>
  );
}

function Runs({ pipeline }: { pipeline: string }) {
  const { api } = useSignedIn();
  const [runs, setRuns] = useState<RunSummary[]>();
  const [total, setTotal] = useState(0);
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api.get<{ runs: RunSummary[]; total: number }>(apiPath('/v1/pipelines', pipeline, 'runs'), { limit: PAGE, offset }).then((answer) => {
      setRuns(answer.runs);
      setTotal(answer.total);
    }, setError);
  }, [api, pipeline, offset]);
  return (
    <section aria-labelledby="runs-title">
      <h2 id="runs-title">Runs</h2>
      <ErrorMessage error={error} />
      {!runs && !error && <Loading what="runs" />}
      {runs?.length === 0 && <p>No run yet.</p>}
      {runs && runs.length > 0 && (
        <TableScroll label="Runs">
          <table>
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Status</th>
                <th scope="col">Mode</th>
                <th scope="col">Started</th>
                <th scope="col">Time</th>
                <th scope="col">Tokens</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => (
                <tr key={run.run_id}>
                  <td>
                    <Link to={`/pipelines/${encodeURIComponent(pipeline)}/runs/${encodeURIComponent(run.run_id)}`}>{run.run_id}</Link>
                  </td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{run.mode}</td>
                  <td>
                    <Time value={run.started_at} />
                  </td>
                  <td>{formatDuration(run.elapsed_ms)}</td>
                  <td>{formatUsage(run.usage)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </TableScroll>
      )}
      <Pager offset={offset} size={PAGE} total={total} onChange={setOffset} />
    </section>
  );
}
