// The platform's JSON API through the edge (same origin): fetch, the bearer token, refusals
// as google.rpc.Status with BadRequest field violations, and the live watch stream
// (newline-delimited JSON).

export interface FieldViolation { field: string; description: string }

export class ApiError extends Error {
  constructor(public httpStatus: number, public code: number, message: string,
              public violations: FieldViolation[]) {
    super(message);
  }
}

export interface Session { token: string; role: string; uscc?: string; authority?: string }

export function session(): Session | null {
  const raw = localStorage.getItem("stc.session");
  return raw ? (JSON.parse(raw) as Session) : null;
}

export function saveSession(s: Session | null): void {
  if (s) localStorage.setItem("stc.session", JSON.stringify(s));
  else localStorage.removeItem("stc.session");
}

/** The claims of a JWT (not verified here: the services verify every call). */
export function claims(token: string): Record<string, unknown> | null {
  const parts = token.trim().split(".");
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

function headers(): Record<string, string> {
  const h: Record<string, string> = { "content-type": "application/json" };
  const s = session();
  if (s) h.authorization = `Bearer ${s.token}`;
  return h;
}

async function refusal(r: Response): Promise<ApiError> {
  const text = await r.text();
  try {
    const st = JSON.parse(text);
    const violations: FieldViolation[] = [];
    for (const d of st.details ?? []) {
      for (const v of d.field_violations ?? d.fieldViolations ?? []) violations.push(v);
    }
    return new ApiError(r.status, st.code ?? 0, st.message ?? text, violations);
  } catch {
    return new ApiError(r.status, 0, text || r.statusText, []);
  }
}

export async function get<T>(path: string, query: Record<string, string> = {}): Promise<T> {
  const qs = new URLSearchParams(query).toString();
  const r = await fetch(path + (qs ? `?${qs}` : ""), { headers: headers() });
  if (!r.ok) throw await refusal(r);
  return (await r.json()) as T;
}

export async function post<T>(path: string, body: unknown): Promise<T> {
  const r = await fetch(path, { method: "POST", headers: headers(), body: JSON.stringify(body) });
  if (!r.ok) throw await refusal(r);
  return (await r.json()) as T;
}

/** Follow a server stream: call `onMessage` for each JSON line until the stream ends or
 * `signal` aborts it. */
export async function stream<T>(path: string, onMessage: (m: T) => void,
                                signal: AbortSignal): Promise<void> {
  const r = await fetch(path, { headers: headers(), signal });
  if (!r.ok || !r.body) throw await refusal(r);
  const reader = r.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buf.indexOf("\n")) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      const json = line.replace(/^[\[,]/, "").replace(/\]$/, "").trim();
      if (json) onMessage(JSON.parse(json) as T);
    }
  }
}
