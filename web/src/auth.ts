// Cognito user pools through their public JSON API (the same calls the CLI and tests/fixtures/users.py make):
// SignUp, ConfirmSignUp, InitiateAuth with USER_PASSWORD_AUTH, and REFRESH_TOKEN_AUTH when the access token expires.
import { config } from "./config";

export interface Session {
  email: string;
  accessToken: string;
  refreshToken: string;
  expiresAt: number; // epoch ms
  sub: string;
}

export class AuthError extends Error {
  constructor(public code: string, message: string) {
    super(message);
  }
}

const KEY = "mybroker.session";
let session: Session | null = load();

function load(): Session | null {
  try {
    const raw = sessionStorage.getItem(KEY);
    return raw ? (JSON.parse(raw) as Session) : null;
  } catch {
    return null;
  }
}

function store(s: Session | null): void {
  session = s;
  if (s) sessionStorage.setItem(KEY, JSON.stringify(s));
  else sessionStorage.removeItem(KEY);
}

async function cognito(action: string, body: unknown): Promise<Record<string, unknown>> {
  let r: Response;
  try {
    r = await fetch(config().cognitoUrl, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-amz-json-1.1",
        "X-Amz-Target": `AWSCognitoIdentityProviderService.${action}`,
      },
      body: JSON.stringify(body),
    });
  } catch {
    throw new AuthError("NETWORK", "network error");
  }
  const data = (await r.json().catch(() => ({}))) as Record<string, unknown>;
  if (!r.ok) {
    const type = String(data.__type ?? data.code ?? `HTTP_${r.status}`).split("#").pop() ?? "";
    throw new AuthError(type, String(data.message ?? data.Message ?? ""));
  }
  return data;
}

function claims(token: string): Record<string, unknown> {
  const part = token.split(".")[1] ?? "";
  const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
  return JSON.parse(json) as Record<string, unknown>;
}

function fromResult(email: string, result: Record<string, unknown>, refresh?: string): Session {
  const r = result.AuthenticationResult as Record<string, string | number> | undefined;
  if (!r) throw new AuthError("CHALLENGE", "the account needs a step this app does not support");
  const accessToken = String(r.AccessToken);
  return {
    email,
    accessToken,
    refreshToken: String(r.RefreshToken ?? refresh ?? ""),
    expiresAt: Date.now() + Number(r.ExpiresIn ?? 3600) * 1000,
    sub: String(claims(accessToken).sub ?? ""),
  };
}

export async function login(email: string, password: string): Promise<Session> {
  const result = await cognito("InitiateAuth", {
    AuthFlow: "USER_PASSWORD_AUTH",
    ClientId: config().clientId,
    AuthParameters: { USERNAME: email, PASSWORD: password },
  });
  const s = fromResult(email, result);
  store(s);
  return s;
}

/** Signs up; true when the account is already confirmed, false when a code must be confirmed first. */
export async function signUp(email: string, password: string): Promise<boolean> {
  const result = await cognito("SignUp", {
    ClientId: config().clientId,
    Username: email,
    Password: password,
    UserAttributes: [{ Name: "email", Value: email }],
  });
  return Boolean(result.UserConfirmed);
}

export async function confirmSignUp(email: string, code: string): Promise<void> {
  await cognito("ConfirmSignUp", { ClientId: config().clientId, Username: email, ConfirmationCode: code });
}

async function refresh(): Promise<boolean> {
  if (!session?.refreshToken) return false;
  try {
    const result = await cognito("InitiateAuth", {
      AuthFlow: "REFRESH_TOKEN_AUTH",
      ClientId: config().clientId,
      AuthParameters: { REFRESH_TOKEN: session.refreshToken },
    });
    store(fromResult(session.email, result, session.refreshToken));
    return true;
  } catch {
    return false;
  }
}

export function currentSession(): Session | null {
  return session;
}

/** A valid access token, refreshed a minute before it expires; null when logged out. */
export async function accessToken(): Promise<string | null> {
  if (!session) return null;
  if (session.expiresAt - 60_000 < Date.now() && !(await refresh())) {
    store(null);
    return null;
  }
  return session.accessToken;
}

export function logout(): void {
  store(null);
}
