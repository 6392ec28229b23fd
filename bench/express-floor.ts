import express from 'express';

/**
 * The platform we build on: Express parsing JSON and answering the same JSON as the app's
 * invoke, nothing else. Started by the invoke scenario and by bench/instructions.sh.
 */
const app = express();
app.use(express.json());
app.get('/ping', (_req, res) => {
  res.json({ ok: true });
});
app.post('/v1/agents/:name/invoke', (req, res) => {
  const body = req.body as { input: string };
  res.json({ output: `Echo: ${body.input}`, usage: { input_tokens: 7, output_tokens: 5, total_tokens: 12 } });
});
app.listen(Number(process.env.PORT), '127.0.0.1');
