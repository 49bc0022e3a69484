import { defineConfig } from "vite";

// Built files go under /static/: /assets/* is the HTTP API's (GET /assets/{ticker}), and the API keeps precedence.
export default defineConfig({
  base: "/",
  build: { outDir: "dist", assetsDir: "static", sourcemap: false, target: "es2022" },
  server: { proxy: { "^/(orders|wallet|quotes|market|assets|config\\.json|cognito-idp)": "http://127.0.0.1:3000" } },
});
