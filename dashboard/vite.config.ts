// Vite: `npm run build` writes dist/ (the cloud serves it at /); `npm run dev` serves the sources and
// passes the API and its WebSocket through to a running cloud (QUANLINK_CLOUD, default 127.0.0.1:8080).
import { defineConfig } from 'vite';

const cloud = process.env.QUANLINK_CLOUD ?? 'http://127.0.0.1:8080';

export default defineConfig({
  server: { proxy: { '/api': { target: cloud, ws: true } } },
  build: { outDir: 'dist', emptyOutDir: true },
});
