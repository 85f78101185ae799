import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The server serves dist/ at "/"; `npm run dev` proxies the API to a running server.
export default defineConfig({
  plugins: [react()],
  build: {
    outDir: "dist", chunkSizeWarningLimit: 2000, sourcemap: true,
    rollupOptions: { input: { main: "index.html", speechEmotion: "speech-emotion.html" } },
  },
  server: {
    proxy: {
      "/v1": { target: "http://127.0.0.1:8000", ws: true },
      "/healthz": "http://127.0.0.1:8000",
    },
  },
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node" },
});
