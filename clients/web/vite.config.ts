import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';
import type { ProxyOptions } from 'vite';

// The site's origin during development (nginx in front of the gateway);
// LIVESTREAMER_BACKEND points the dev server elsewhere.
const BACKEND = process.env.LIVESTREAMER_BACKEND ?? 'http://127.0.0.1:8080';

// In `npm run dev` the browser talks to Vite; Vite forwards the API and the
// WebSocket to the backend. The page's Origin is the dev server's, so it is
// rewritten to the backend's own origin: to the gateway's CSRF check the
// request then looks exactly like one from the site it serves. Dev only.
const toBackend: ProxyOptions = {
  target: BACKEND,
  changeOrigin: true,
  configure(proxy) {
    proxy.on('proxyReq', (req) => {
      if (req.getHeader('origin')) req.setHeader('origin', BACKEND);
    });
    proxy.on('proxyReqWs', (req) => {
      if (req.getHeader('origin')) req.setHeader('origin', BACKEND);
    });
  },
};

export default defineConfig({
  plugins: [react()],
  server: {
    proxy: {
      '/api': toBackend,
      '/ws': { ...toBackend, ws: true },
    },
  },
  build: {
    outDir: 'dist',
  },
  test: {
    environment: 'jsdom',
    setupFiles: ['./src/test/setup.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
});
