import { type FormEvent, type KeyboardEvent, useEffect, useId, useRef, useState } from 'react';
import { apiPath } from '../api';
import { ErrorMessage, formatUsage, Loading, PageTitle } from '../components/common';
import { Link, navigate, withParams } from '../router';
import { useSignedIn } from '../session';
import type { AgentSummary, SessionHistory, SessionSummary, Usage } from '../types';

/** One line of the conversation as the page shows it. */
type ChatItem =
  | { id: number; kind: 'user'; text: string; turn?: number }
  | { id: number; kind: 'assistant'; text: string; usage?: Usage; turn?: number; streaming?: boolean }
  | { id: number; kind: 'tool'; name: string; args: Record<string, unknown>; output?: string; error?: string }
  | { id: number; kind: 'notice'; text: string }
  | { id: number; kind: 'error'; text: string };

const NEW_SESSION = '__new__';
const NO_SESSION = '__none__';
let nextId = 1;

export function PlaygroundPage({ agent: agentParam, sessionId }: { agent?: string; sessionId?: string }) {
  const { api } = useSignedIn();
  const [agents, setAgents] = useState<AgentSummary[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    api.get<{ agents: AgentSummary[] }>('/v1/agents').then((answer) => setAgents(answer.agents), setError);
  }, [api]);

  const agent = agents?.find((candidate) => candidate.name === agentParam) ?? agents?.[0];
  return (
    <>
      <PageTitle title="Playground">Playground</PageTitle>
      <ErrorMessage error={error} />
      {!agents && !error && <Loading what="agents" />}
      {agents?.length === 0 && <p>No agent is available to you.</p>}
      {agents && agent && (
        <>
          <div className="field">
            <label htmlFor="agent">Agent</label>
            <select id="agent" value={agent.name} onChange={(event) => navigate(withParams('/playground', { agent: event.target.value }))}>
              {agents.map((candidate) => (
                <option key={candidate.name} value={candidate.name}>
                  {candidate.name}
                </option>
              ))}
            </select>
          </div>
          <AgentFacts agent={agent} />
          <Chat key={agent.name} agent={agent} sessionId={sessionId} />
        </>
      )}
    </>
  );
}

function AgentFacts({ agent }: { agent: AgentSummary }) {
  return (
    <dl className="facts">
      {agent.description && (
        <>
          <dt>Description</dt>
          <dd>{agent.description}</dd>
        </>
      )}
      <dt>Model</dt>
      <dd>{agent.models.join(' → ')}</dd>
      <dt>Skills</dt>
      <dd>{agent.skills.length ? agent.skills.join(', ') : 'none'}</dd>
    </dl>
  );
}

function Chat({ agent, sessionId }: { agent: AgentSummary; sessionId?: string }) {
  const { api } = useSignedIn();
  const [sessions, setSessions] = useState<SessionSummary[]>([]);
  const [conversation, setConversation] = useState(sessionId ?? NEW_SESSION);
  const [items, setItems] = useState<ChatItem[]>([]);
  const [variables, setVariables] = useState<{ name: string; value: string }[]>([]);
  const [input, setInput] = useState('');
  const [streaming, setStreaming] = useState(false);
  const [status, setStatus] = useState('');
  const [error, setError] = useState<unknown>();
  const abort = useRef<AbortController>(undefined);
  const logRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    api.get<{ sessions: SessionSummary[] }>(apiPath('/v1/agents', agent.name, 'sessions'), { limit: 50 }).then(
      (answer) => setSessions(answer.sessions),
      () => setSessions([]),
    );
  }, [api, agent.name]);

  // Continuing a stored session: its turns so far (not for the one this page just created).
  const shown = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (sessionId === shown.current) return;
    shown.current = sessionId;
    setConversation(sessionId ?? NEW_SESSION);
    setItems([]);
    if (!sessionId) return;
    api
      .get<SessionHistory>(apiPath('/v1/agents', agent.name, 'sessions', sessionId))
      .then((history) => setItems(historyItems(history)), setError);
  }, [api, agent.name, sessionId]);

  useEffect(() => () => abort.current?.abort(), []);
  // The newest line stays in view inside the log, without scrolling the page.
  useEffect(() => {
    const log = logRef.current;
    if (log) log.scrollTop = log.scrollHeight;
  }, [items]);

  const chooseConversation = (value: string) => {
    setConversation(value);
    if (value !== NEW_SESSION && value !== NO_SESSION) navigate(withParams('/playground', { agent: agent.name, session: value }));
    else if (sessionId) {
      shown.current = undefined;
      setItems([]);
      navigate(withParams('/playground', { agent: agent.name }));
    }
  };

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const text = input.trim();
    if (!text || streaming) return;
    setError(undefined);
    setInput('');
    const controller = new AbortController();
    abort.current = controller;
    setStreaming(true);
    setStatus('The agent is answering…');
    let session = conversation === NEW_SESSION || conversation === NO_SESSION ? undefined : conversation;
    try {
      if (conversation === NEW_SESSION) {
        const created = await api.post<{ session_id: string }>(apiPath('/v1/agents', agent.name, 'sessions'), {});
        session = created.session_id;
        setConversation(session);
        setSessions((current) => [
          {
            session_id: session!,
            agent: agent.name,
            turns: 0,
            created_at: new Date().toISOString(),
            last_active_at: new Date().toISOString(),
            metadata: {},
          },
          ...current,
        ]);
        shown.current = session;
        navigate(withParams('/playground', { agent: agent.name, session }), { replace: true });
      }
      const answerId = nextId++;
      setItems((current) => [
        ...current,
        { id: nextId++, kind: 'user', text },
        { id: answerId, kind: 'assistant', text: '', streaming: true },
      ]);
      const filled = Object.fromEntries(variables.filter((row) => row.name.trim()).map((row) => [row.name.trim(), row.value]));
      const body = {
        input: text,
        ...(Object.keys(filled).length ? { options: { variables: filled } } : {}),
        ...(session ? { session_id: session } : {}),
      };
      for await (const streamed of api.stream(apiPath('/v1/agents', agent.name, 'stream'), body, controller.signal)) {
        setItems((current) => applyEvent(current, answerId, streamed));
        if (streamed.type === 'done') setStatus(`Answer complete: ${formatUsage(streamed.usage)}.`);
        if (streamed.type === 'error') setStatus('The answer failed.');
      }
    } catch (failure) {
      if (controller.signal.aborted) setStatus('Stopped.');
      else setError(failure);
    } finally {
      setItems((current) => current.map((item) => (item.kind === 'assistant' && item.streaming ? { ...item, streaming: false } : item)));
      setStreaming(false);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void send();
  };

  const inSession = conversation !== NEW_SESSION && conversation !== NO_SESSION;
  return (
    <div className="playground">
      <section aria-labelledby="setup-title" className="setup">
        <h2 id="setup-title">Conversation</h2>
        <div className="field">
          <label htmlFor="conversation">Session</label>
          <select id="conversation" value={conversation} onChange={(event) => chooseConversation(event.target.value)} disabled={streaming}>
            <option value={NEW_SESSION}>New session</option>
            <option value={NO_SESSION}>No session (one-off calls)</option>
            {sessions.map((session) => (
              <option key={session.session_id} value={session.session_id}>
                {session.session_id} ({session.turns} turns)
              </option>
            ))}
          </select>
        </div>
        {inSession && (
          <p>
            <Link to={`/sessions/${encodeURIComponent(agent.name)}/${encodeURIComponent(conversation)}`}>Open the transcript</Link>
          </p>
        )}
        <Variables rows={variables} onChange={setVariables} />
      </section>
      <section aria-labelledby="chat-title" className="chat">
        <h2 id="chat-title">Chat with {agent.name}</h2>
        <div
          ref={logRef}
          className="log"
          role="log"
          aria-live="polite"
          aria-busy={streaming}
          aria-label={`Conversation with ${agent.name}`}
        >
          {items.length === 0 && <p className="muted">No messages yet.</p>}
          {items.map((item) => (
            <ChatLine key={item.id} item={item} />
          ))}
        </div>
        <p className="visually-hidden" role="status">
          {status}
        </p>
        <ErrorMessage error={error} />
        <form onSubmit={(event) => void send(event)} className="composer">
          <label htmlFor="message">Message</label>
          <textarea
            id="message"
            rows={3}
            value={input}
            onChange={(event) => setInput(event.target.value)}
            onKeyDown={onKeyDown}
            aria-describedby="message-hint"
          />
          <p className="hint" id="message-hint">
            Ctrl+Enter sends.
          </p>
          <div className="actions">
            <button type="submit" className="primary" disabled={streaming || !input.trim()}>
              Send
            </button>
            {streaming && (
              <button type="button" onClick={() => abort.current?.abort()}>
                Stop
              </button>
            )}
          </div>
        </form>
      </section>
    </div>
  );
}

function Variables({
  rows,
  onChange,
}: {
  rows: { name: string; value: string }[];
  onChange: (rows: { name: string; value: string }[]) => void;
}) {
  const id = useId();
  const update = (index: number, field: 'name' | 'value', value: string) =>
    onChange(rows.map((row, position) => (position === index ? { ...row, [field]: value } : row)));
  return (
    <fieldset className="variables">
      <legend>Prompt variables</legend>
      {rows.length === 0 && <p className="muted">None. Add the values the agent&apos;s prompt asks for.</p>}
      {rows.map((row, index) => (
        <div className="variable" key={index}>
          <label htmlFor={`${id}-name-${index}`}>Name</label>
          <input id={`${id}-name-${index}`} value={row.name} onChange={(event) => update(index, 'name', event.target.value)} />
          <label htmlFor={`${id}-value-${index}`}>Value</label>
          <input id={`${id}-value-${index}`} value={row.value} onChange={(event) => update(index, 'value', event.target.value)} />
          <button
            type="button"
            onClick={() => onChange(rows.filter((_, position) => position !== index))}
            aria-label={`Remove variable ${row.name || index + 1}`}
          >
            Remove
          </button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { name: '', value: '' }])}>
        Add variable
      </button>
    </fieldset>
  );
}

function ChatLine({ item }: { item: ChatItem }) {
  switch (item.kind) {
    case 'user':
      return (
        <div className="message user">
          <span className="who-label">You{item.turn ? ` · turn ${item.turn}` : ''}</span>
          <p>{item.text}</p>
        </div>
      );
    case 'assistant':
      return (
        <div className="message assistant" data-streaming={item.streaming ? 'true' : undefined}>
          <span className="who-label">Agent{item.turn ? ` · turn ${item.turn}` : ''}</span>
          <p className="answer">{item.text || (item.streaming ? '…' : '')}</p>
          {item.usage && <span className="usage">{formatUsage(item.usage)}</span>}
        </div>
      );
    case 'tool':
      return (
        <div className="message tool">
          <span className="who-label">Tool call: {item.name}</span>
          <pre className="json">{JSON.stringify(item.args, null, 2)}</pre>
          {item.output !== undefined && (
            <p>
              <strong>{item.error ? 'Failed' : 'Result'}:</strong> {item.error ?? item.output}
            </p>
          )}
          {item.output === undefined && <p className="muted">Running…</p>}
        </div>
      );
    case 'notice':
      return <p className="message notice">{item.text}</p>;
    case 'error':
      return (
        <p className="message error-line" role="alert">
          {item.text}
        </p>
      );
  }
}

/** Folds one stream event into the conversation (docs/api.md §5.3). */
function applyEvent(items: ChatItem[], answerId: number, event: import('../sse').StreamEvent): ChatItem[] {
  const updateAnswer = (change: (answer: Extract<ChatItem, { kind: 'assistant' }>) => ChatItem) =>
    items.map((item) => (item.id === answerId && item.kind === 'assistant' ? change(item) : item));
  switch (event.type) {
    case 'token':
      return updateAnswer((answer) => ({ ...answer, text: answer.text + event.content }));
    case 'tool_call': {
      // Shown before the answer it feeds, as it happens.
      const at = items.findIndex((item) => item.id === answerId);
      const call: ChatItem = { id: nextId++, kind: 'tool', name: event.name, args: event.arguments };
      return [...items.slice(0, at), call, ...items.slice(at)];
    }
    case 'tool_result': {
      const index = items.findLastIndex((item) => item.kind === 'tool' && item.name === event.name && item.output === undefined);
      if (index < 0) return items;
      return items.map((item, position) =>
        position === index && item.kind === 'tool' ? { ...item, output: event.output, error: event.error } : item,
      );
    }
    case 'guardrail':
      return [
        ...updateAnswer((answer) => ({ ...answer, text: event.fallback })),
        { id: nextId++, kind: 'notice', text: `Guardrail ${event.guardrail} replaced the answer (${event.side}).` },
      ];
    case 'done':
      return updateAnswer((answer) => ({ ...answer, usage: event.usage, turn: event.turn, streaming: false }));
    case 'error':
      return [
        ...updateAnswer((answer) => ({ ...answer, streaming: false })),
        { id: nextId++, kind: 'error', text: `${event.message} (${event.code})` },
      ];
  }
}

function historyItems(history: SessionHistory): ChatItem[] {
  return history.messages.flatMap((message): ChatItem[] => {
    if (message.role === 'user') return [{ id: nextId++, kind: 'user', text: message.content, turn: message.turn }];
    const tools: ChatItem[] = (message.tool_calls ?? []).map((call) => ({
      id: nextId++,
      kind: 'tool',
      name: call.name,
      args: call.arguments,
      output: call.output,
      error: call.error,
    }));
    return [...tools, { id: nextId++, kind: 'assistant', text: message.content, usage: message.usage, turn: message.turn }];
  });
}
