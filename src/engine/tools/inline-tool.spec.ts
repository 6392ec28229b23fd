import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { InlineTool, type InlineToolConfig } from './inline-tool.js';

const MIB = 1024 * 1024;
const hasPython = spawnSync('python3', ['--version'], { env: { PATH: '/usr/bin:/bin' } }).status === 0;

const inline = (config: Partial<InlineToolConfig> & { code: string }, enabled = true) =>
  new InlineTool({ name: 'snippet', language: 'javascript', ...config }, { enabled, path: '/usr/bin:/bin' });

describe('InlineTool', () => {
  it('refuses to run when inline tools are not enabled', async () => {
    const result = await inline({ code: 'return "ran"' }, false).run({}, {});
    expect(result).toEqual({ output: '', error: 'inline tools are disabled in this runtime' });
  });

  it('refuses a language it does not run', async () => {
    const result = await inline({ language: 'ruby', code: 'puts 1' }).run({}, {});
    expect(result.error).toBe('inline language "ruby" is not supported (use javascript or python)');
  });

  describe('javascript', () => {
    it('gets the arguments as `args` and returns what it prints followed by its return value', async () => {
      const result = await inline({ code: 'console.log("sum:"); return String(args.a + args.b);' }).run({ a: 2, b: 40 }, {});
      expect(result).toEqual({ output: 'sum:\n42' });
    });

    it('returns non-string values as JSON and may await', async () => {
      const code = 'await new Promise((r) => setTimeout(r, 10)); return { upper: args.word.toUpperCase(), n: [1, 2] };';
      expect(await inline({ code }).run({ word: 'héllo' }, {})).toEqual({ output: '{"upper":"HÉLLO","n":[1,2]}' });
    });

    it('runs in another process with nothing but PATH in its environment', async () => {
      const result = await inline({ code: 'return { pid: process.pid, env: process.env };' }).run({}, {});
      const parsed = JSON.parse(result.output) as { pid: number; env: Record<string, string> };
      expect(parsed.pid).not.toBe(process.pid);
      expect(parsed.env).toEqual({ PATH: '/usr/bin:/bin' });
    });

    it('cannot read files or start processes', async () => {
      const readFile = await inline({ code: 'return require("node:fs").readFileSync("/etc/passwd", "utf8");' }).run({}, {});
      expect(readFile.output).toBe('');
      expect(readFile.error).toMatch(/^inline code failed \(exit code 1\): Error: Access to this API has been restricted/);
      const spawn = await inline({ code: 'return require("node:child_process").execSync("id").toString();' }).run({}, {});
      expect(spawn.error).toMatch(/^inline code failed \(exit code 1\): Error: Access to this API has been restricted/);
    });

    it('turns a thrown error into a tool error', async () => {
      const result = await inline({ code: 'throw new TypeError("bad input: " + args.x);' }).run({ x: 'q' }, {});
      expect(result).toEqual({ output: '', error: 'inline code failed (exit code 1): TypeError: bad input: q' });
    });

    it('reports a syntax error in the code', async () => {
      const result = await inline({ code: 'return (' }).run({}, {});
      expect(result.error).toMatch(/^inline code failed \(exit code 1\): SyntaxError: /);
    });

    it('stops code that runs past its timeout', async () => {
      const started = Date.now();
      const result = await inline({ code: 'while (true) {}', timeoutMs: 300 }).run({}, {});
      expect(result).toEqual({ output: '', error: 'inline code timed out after 300 ms and was stopped' });
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('stops when the call is aborted', async () => {
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 100);
      const result = await inline({ code: 'while (true) {}' }).run({}, { signal: controller.signal });
      expect(result.error).toBe('inline code was cancelled');
    });

    it('applies the memory limit to the heap', async () => {
      const code = 'const keep = []; for (;;) keep.push(new Array(1e6).fill(Math.random()));';
      const result = await inline({ code, memoryBytes: 32 * 1024 * 1024, timeoutMs: 20_000 }).run({}, {});
      expect(result).toEqual({ output: '', error: `inline code ran out of memory (limit ${32 * 1024 * 1024} bytes)` });
    });

    it('caps the output at 1 MiB', async () => {
      const result = await inline({ code: 'return "y".repeat(2 * 1024 * 1024);' }).run({}, {});
      expect(result.output).toBe('y'.repeat(MIB) + `\n[output truncated at ${MIB} bytes]`);
    });
  });

  describe.skipIf(!hasPython)('python', () => {
    const python = (code: string, timeoutMs?: number) => inline({ language: 'python', code, timeoutMs });

    it('gets the arguments as `args` and returns what it prints followed by `result`', async () => {
      const result = await python('print("total:")\nresult = {"total": args["a"] * args["b"]}').run({ a: 6, b: 7 }, {});
      expect(result).toEqual({ output: 'total:\n{"total": 42}' });
    });

    it('sees nothing but PATH in its environment', async () => {
      const result = await python('import os\nresult = dict(os.environ)').run({}, {});
      expect(JSON.parse(result.output)).toMatchObject({ PATH: '/usr/bin:/bin' });
      expect(Object.keys(JSON.parse(result.output) as object).filter((key) => key !== 'LC_CTYPE')).toEqual(['PATH']);
    });

    it('turns an exception into a tool error', async () => {
      const result = await python('raise ValueError("nope " + args["x"])').run({ x: 'z' }, {});
      expect(result).toEqual({ output: '', error: 'inline code failed (exit code 1): ValueError: nope z' });
    });

    it('applies the memory limit', async () => {
      const result = await inline({ language: 'python', code: 'data = bytearray(256 * 1024 * 1024)', memoryBytes: 64 * 1024 * 1024 }).run({}, {});
      expect(result).toEqual({ output: '', error: 'inline code failed (exit code 1): MemoryError' });
    });

    it('stops code that runs past its timeout', async () => {
      const result = await python('while True:\n    pass', 300).run({}, {});
      expect(result.error).toBe('inline code timed out after 300 ms and was stopped');
    });
  });
});
