// A tiny MCP server over stdio for the tool tests. Tools:
//   echo {text}     → the text back, prefixed with the value of $ECHO_PREFIX when set
//   fail {}         → a result flagged isError
//   sleep {ms}      → answers after ms milliseconds
//   crash {}        → exits the process mid-call
//   pid {}          → the server's process id
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { CallToolRequestSchema, ListToolsRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const server = new Server({ name: 'mcp-echo', version: '1.0.0' }, { capabilities: { tools: {} } });

const objectSchema = (properties) => ({ type: 'object', properties });

server.setRequestHandler(ListToolsRequestSchema, async () => ({
  tools: [
    { name: 'echo', description: 'Echoes text', inputSchema: objectSchema({ text: { type: 'string' } }) },
    { name: 'fail', description: 'Always fails', inputSchema: objectSchema({}) },
    { name: 'sleep', description: 'Waits', inputSchema: objectSchema({ ms: { type: 'number' } }) },
    { name: 'crash', description: 'Exits', inputSchema: objectSchema({}) },
    { name: 'pid', description: 'Process id', inputSchema: objectSchema({}) },
  ],
}));

server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const args = request.params.arguments ?? {};
  switch (request.params.name) {
    case 'echo':
      return { content: [{ type: 'text', text: `${process.env.ECHO_PREFIX ?? ''}${String(args.text ?? '')}` }] };
    case 'fail':
      return { content: [{ type: 'text', text: 'this tool always fails' }], isError: true };
    case 'sleep':
      await new Promise((resolve) => setTimeout(resolve, Number(args.ms ?? 0)));
      return { content: [{ type: 'text', text: 'slept' }] };
    case 'crash':
      process.stderr.write('crashing on purpose\n');
      process.exit(3);
      break;
    case 'pid':
      return { content: [{ type: 'text', text: String(process.pid) }] };
    default:
      throw new Error(`unknown tool ${request.params.name}`);
  }
});

await server.connect(new StdioServerTransport());
