import { useEffect, useState } from 'react';
import { apiPath } from '../api';
import { ErrorMessage, formatDuration, formatUsage, Loading, PageTitle, StatusBadge, TableScroll, Time } from '../components/common';
import { RunGraph } from '../components/dag';
import { Link, withParams } from '../router';
import { runInput } from '../run-inputs';
import { useSignedIn } from '../session';
import type { PipelineSummary, RunStatus } from '../types';

const POLL_MS = 500;

export function RunPage({ pipeline: name, runId }: { pipeline: string; runId: string }) {
  const { api } = useSignedIn();
  const [pipeline, setPipeline] = useState<PipelineSummary>();
  const [status, setStatus] = useState<RunStatus>();
  const [error, setError] = useState<unknown>();
  const [cancelling, setCancelling] = useState(false);

  useEffect(() => {
    api.get<{ pipelines: PipelineSummary[] }>('/v1/pipelines').then((answer) => {
      const found = answer.pipelines.find((candidate) => candidate.name === name);
      if (found) setPipeline(found);
      else setError(new Error(`Pipeline '${name}' is not available to you.`));
    }, setError);
  }, [api, name]);

  // Live status until the run ends: every replica answers the same (docs/api.md §7.5).
  const running = !status || status.status === 'running';
  useEffect(() => {
    if (!running) return;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = () => {
      api.get<RunStatus>(apiPath('/v1/pipelines', name, 'status'), { run_id: runId }).then(
        (answer) => {
          if (stopped) return;
          setStatus(answer);
          if (answer.status === 'running') timer = setTimeout(poll, POLL_MS);
        },
        (failure: unknown) => {
          if (!stopped) setError(failure);
        },
      );
    };
    poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [api, name, runId, running]);

  const cancel = async () => {
    setCancelling(true);
    try {
      setStatus(await api.post<RunStatus>(apiPath('/v1/pipelines', name, 'runs', runId, 'cancel')));
    } catch (failure) {
      setError(failure);
    } finally {
      setCancelling(false);
    }
  };

  const input = runInput(runId);
  return (
    <>
      <PageTitle title={`Run ${runId}`}>Pipeline run</PageTitle>
      <p>
        <Link to={withParams('/pipelines', { pipeline: name })}>All runs of {name}</Link>
      </p>
      <ErrorMessage error={error} />
      {!status && !error && <Loading what="the run" />}
      {status && (
        <>
          <dl className="facts">
            <dt>Run</dt>
            <dd>
              <code>{status.run_id}</code>
            </dd>
            <dt>Status</dt>
            <dd aria-live="polite" id="run-status">
              <StatusBadge status={status.status} />
            </dd>
            <dt>Started</dt>
            <dd>
              <Time value={status.started_at} />
            </dd>
            <dt>Time</dt>
            <dd>{formatDuration(status.elapsed_ms)}</dd>
            {status.usage && (
              <>
                <dt>Tokens</dt>
                <dd>{formatUsage(status.usage)}</dd>
              </>
            )}
          </dl>
          {status.status === 'running' && (
            <button type="button" className="danger" onClick={() => void cancel()} disabled={cancelling}>
              {cancelling ? 'Cancelling…' : 'Cancel run'}
            </button>
          )}
          {pipeline && <RunGraph pipeline={pipeline} status={status} />}
          <TableScroll label="Steps">
            <table>
              <caption>Steps</caption>
              <thead>
                <tr>
                  <th scope="col">Step</th>
                  <th scope="col">Agent</th>
                  <th scope="col">After</th>
                  <th scope="col">Status</th>
                  <th scope="col">Time</th>
                </tr>
              </thead>
              <tbody>
                {status.steps.map((step) => {
                  const definition = pipeline?.steps.find((candidate) => candidate.name === step.name);
                  return (
                    <tr key={step.name} data-step={step.name}>
                      <td>{step.name}</td>
                      <td>{definition?.agent ?? '—'}</td>
                      <td>{definition?.depends_on.join(', ') || '—'}</td>
                      <td>
                        <StatusBadge status={step.status} />
                      </td>
                      <td>{formatDuration(step.duration_ms)}</td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </TableScroll>
          <h2>Input</h2>
          {input !== undefined ? (
            <pre className="text">{input || '(empty)'}</pre>
          ) : (
            <p className="muted">Only shown for runs started from this tab: the API does not return a run&apos;s input.</p>
          )}
          <h2>Output</h2>
          {status.error && (
            <p className="error">
              {status.error.message} ({status.error.code})
            </p>
          )}
          {status.status === 'running' ? (
            <p className="muted">Shown when the run ends.</p>
          ) : (
            <pre className="text">{status.output ?? '(none)'}</pre>
          )}
        </>
      )}
    </>
  );
}
