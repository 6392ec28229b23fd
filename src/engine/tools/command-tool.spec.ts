import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CommandTool, type CommandToolConfig, type CommandToolOptions } from './command-tool.js';

const NODE = process.execPath;
const MIB = 1024 * 1024;
const allowed: CommandToolOptions = { allowlist: [NODE, '/bin/cat', 'cat'], path: '/usr/bin:/bin' };

const nodeScript = (script: string, extra: Partial<CommandToolConfig> = {}, options: Partial<CommandToolOptions> = {}) =>
  new CommandTool({ name: 'script', binary: NODE, args: ['-e', script], ...extra }, { ...allowed, ...options });

/** A zombie (killed, not yet reaped by its parent or init) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return true;
  }
}

describe('CommandTool', () => {
  it('passes the arguments as JSON on stdin and returns stdout', async () => {
    const tool = new CommandTool({ name: 'cat', binary: '/bin/cat' }, allowed);
    const args = { text: 'héllo "world"', n: 3, nested: { ok: true } };
    expect(await tool.run(args, {})).toEqual({ output: JSON.stringify(args) });
  });

  it('finds a bare binary name through the PATH it was given', async () => {
    const tool = new CommandTool({ name: 'cat', binary: 'cat' }, allowed);
    expect(await tool.run({ a: 1 }, {})).toEqual({ output: '{"a":1}' });
  });

  describe('the environment', () => {
    beforeEach(() => {
      process.env.AGENTSPEC_TOOLS_SPEC_MARKER = 'must-not-leak';
    });
    afterEach(() => {
      delete process.env.AGENTSPEC_TOOLS_SPEC_MARKER;
    });

    it('holds only PATH, the declared env and the resolved secrets', async () => {
      const tool = nodeScript(
        `const env = { ...process.env }; env.API_TOKEN = env.API_TOKEN === 'tok-98765' ? 'ok' : 'wrong'; process.stdout.write(JSON.stringify(env))`,
        { env: { GREETING: 'hi' }, secrets: { API_TOKEN: 'api-token' } },
        { resolveSecret: (name) => (name === 'api-token' ? 'tok-98765' : undefined) },
      );
      const result = await tool.run({}, {});
      expect(result.error).toBeUndefined();
      expect(JSON.parse(result.output)).toEqual({ PATH: '/usr/bin:/bin', GREETING: 'hi', API_TOKEN: 'ok' });
      expect(result.output).not.toContain('must-not-leak');
    });
  });

  it('keeps secret values out of the output and the error', async () => {
    const options = { resolveSecret: () => 'tok-98765' };
    const printed = await nodeScript('process.stdout.write("token=" + process.env.T)', { secrets: { T: 't' } }, options).run({}, {});
    expect(printed).toEqual({ output: 'token=[redacted]' });
    const failed = await nodeScript('console.error("bad token " + process.env.T); process.exit(2)', { secrets: { T: 't' } }, options).run({}, {});
    expect(failed.error).toBe(`"${NODE}" exited with code 2: bad token [redacted]`);
  });

  it('fails when a secret cannot be resolved, without starting the program', async () => {
    const result = await nodeScript('process.stdout.write("ran")', { secrets: { T: 'absent' } }).run({}, {});
    expect(result).toEqual({ output: '', error: 'secret "absent" is not available' });
  });

  it('refuses a binary that is not on the allowlist', async () => {
    const tool = new CommandTool({ name: 'sh', binary: '/bin/sh', args: ['-c', 'echo ran'] }, allowed);
    expect(await tool.run({}, {})).toEqual({ output: '', error: '"/bin/sh" is not on the command allowlist' });
  });

  it('does not treat a path as allowed because its base name is', async () => {
    const tool = new CommandTool({ name: 'cat', binary: '/tmp/cat' }, allowed);
    expect((await tool.run({}, {})).error).toBe('"/tmp/cat" is not on the command allowlist');
  });

  it('refuses every command when the allowlist is empty', async () => {
    const tool = new CommandTool({ name: 'cat', binary: '/bin/cat' }, { allowlist: [] });
    expect(await tool.run({}, {})).toEqual({
      output: '',
      error: 'command tools are disabled: the command allowlist (AGENTSPEC_COMMAND_ALLOWLIST) is empty',
    });
  });

  it('reports a non-zero exit with its code and the start of stderr', async () => {
    const result = await nodeScript('process.stderr.write("x".repeat(5000)); process.exit(7)').run({}, {});
    expect(result.output).toBe('');
    expect(result.error).toBe(`"${NODE}" exited with code 7: ${'x'.repeat(1000)}…`);
  });

  it('reports a program killed by a signal', async () => {
    const result = await nodeScript('process.kill(process.pid, "SIGKILL")').run({}, {});
    expect(result.error).toBe(`"${NODE}" was killed by SIGKILL`);
  });

  it('reports a binary that cannot be started', async () => {
    const tool = new CommandTool({ name: 'ghost', binary: '/nonexistent/tool' }, { allowlist: ['/nonexistent/tool'] });
    expect(await tool.run({}, {})).toEqual({ output: '', error: '"/nonexistent/tool" could not be started (ENOENT)' });
  });

  it('reports arguments the operating system cannot take', async () => {
    const tool = new CommandTool({ name: 'cat', binary: '/bin/cat', args: ['a\u0000b'] }, allowed);
    expect(await tool.run({}, {})).toEqual({ output: '', error: '"/bin/cat" could not be started (ERR_INVALID_ARG_VALUE)' });
  });

  it('caps stdout at 1 MiB and marks the cut', async () => {
    const result = await nodeScript('process.stdout.write("z".repeat(3 * 1024 * 1024))').run({}, {});
    expect(result.error).toBeUndefined();
    expect(result.output).toBe('z'.repeat(MIB) + `\n[output truncated at ${MIB} bytes]`);
  });

  describe('stopping', () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'command-tool-'));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('kills the program and what it started when the timeout passes, SIGKILL after the grace period', async () => {
      const pidFile = join(dir, 'pids');
      // Ignores SIGTERM and starts a grandchild in the same process group.
      const script = `
        const { spawn } = require('node:child_process');
        process.on('SIGTERM', () => {});
        const sleeper = spawn(process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000)'], { stdio: 'ignore' });
        require('node:fs').writeFileSync(${JSON.stringify(pidFile)}, process.pid + ' ' + sleeper.pid);
        setInterval(() => {}, 1000);`;
      const started = Date.now();
      const result = await nodeScript(script, { timeoutMs: 500 }, { killGraceMs: 200 }).run({}, {});
      expect(result).toEqual({ output: '', error: `"${NODE}" timed out after 500 ms and was stopped` });
      expect(Date.now() - started).toBeLessThan(3000);
      const pids = (await readFile(pidFile, 'utf8')).split(' ').map(Number);
      expect(pids).toHaveLength(2);
      await vi.waitFor(() => expect(pids.filter(isAlive)).toEqual([]), { timeout: 2000 });
    });

    it('stops the program when the call is aborted', async () => {
      const controller = new AbortController();
      const running = nodeScript('setInterval(() => {}, 1000)').run({}, { signal: controller.signal });
      setTimeout(() => controller.abort(), 100);
      expect(await running).toEqual({ output: '', error: `"${NODE}" was cancelled` });
    });
  });
});

describe('CommandTool with the agent config', () => {
  it('fills {{config.name}} in args and env values, and hides secret config values in what it returns', async () => {
    const script = 'process.stdout.write(JSON.stringify({ argv: process.argv.slice(1), token: process.env.TOKEN }))';
    const tool = new CommandTool(
      {
        name: 'script',
        binary: NODE,
        args: ['-e', script, '--', '--region={{config.region}}', '{{q}}'],
        env: { TOKEN: '{{config.token}}' },
        configValues: new Map([
          ['region', 'eu'],
          ['token', 'tok-config-secret'],
        ]),
        hiddenValues: ['tok-config-secret'],
      },
      allowed,
    );
    const result = await tool.run({ q: '{{config.token}}' }, {});
    expect(result.error).toBeUndefined();
    expect(JSON.parse(result.output)).toEqual({ argv: ['--region=eu', '{{q}}'], token: '[redacted]' });
  });
});
