import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// The console is served by the app under /console (src/console/); `npm run build` writes it to
// dist/console after `nest build` (which empties dist/). For development, `npx vite --config
// console/vite.config.ts` serves it with hot reload and forwards the API to a running server.
export default defineConfig({
  root: import.meta.dirname,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: '../dist/console',
    emptyOutDir: true,
    target: 'es2022',
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/v1': process.env.AGENTSPEC_URL ?? 'http://127.0.0.1:8080',
      '/console/config.json': process.env.AGENTSPEC_URL ?? 'http://127.0.0.1:8080',
    },
  },
});
