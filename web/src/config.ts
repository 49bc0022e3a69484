// The deployment's endpoints, read at start from /config.json: served by the local runtime, and on AWS
// generated at deploy time (infra/web.py) with the HTTP API, WebSocket and Cognito URLs.
export interface AppConfig {
  apiUrl: string; // "" = same origin
  wsUrl: string; // "" = no streaming API: the live layer polls the HTTP API
  cognitoUrl: string; // the Cognito user pools JSON API endpoint
  clientId: string;
  region: string;
}

let loaded: AppConfig | null = null;

export async function loadConfig(): Promise<AppConfig> {
  if (loaded) return loaded;
  const r = await fetch("/config.json", { cache: "no-store" });
  if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
  loaded = (await r.json()) as AppConfig;
  return loaded;
}

export function config(): AppConfig {
  if (!loaded) throw new Error("config not loaded");
  return loaded;
}
