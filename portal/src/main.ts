// The reference e-licensing portal: hash routes, one render function per page, DOM built with
// h() (text is always set as text, never as HTML). Chinese and English.
import { ApiError, claims, get, post, saveSession, session, stream } from "./api";
import { getLang, setLang, t, type Word } from "./i18n";

type Attrs = Record<string, string | boolean | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else if (v === true) el.setAttribute(k, "");
    else if (v !== false) el.setAttribute(k, v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

const main = () => document.getElementById("main")!;
let stopWatch: AbortController | null = null;

const short = (v: string | undefined, prefix: string) => (v ?? "").replace(prefix, "");
const date = (d?: { year?: number; month?: number; day?: number }) =>
  d && d.year ? `${d.year}-${String(d.month).padStart(2, "0")}-${String(d.day).padStart(2, "0")}` : "-";

function errorBox(e: unknown): HTMLElement {
  const msg = e instanceof ApiError ? `${e.message} (HTTP ${e.httpStatus})` : String(e);
  return h("div", { class: "error-box", "data-testid": "error" }, `${t("error")}: ${msg}`);
}

// ---------------------------------------------------------------- layout and routing

const NAV: [string, Word, string[]][] = [
  ["#/search", "navSearch", []],
  ["#/publications", "navPublications", []],
  ["#/signin", "navSignin", []],
  ["#/register", "navRegister", ["exporter"]],
  ["#/apply", "navApply", ["exporter"]],
  ["#/applications", "navMine", ["exporter"]],
  ["#/screen", "navScreen", ["exporter", "officer"]],
  ["#/consult", "navConsult", ["exporter"]],
  ["#/queue", "navQueue", ["officer"]],
  ["#/lists", "navLists", ["officer"]],
];

function chrome(): void {
  document.getElementById("brand")!.textContent = t("brand");
  const s = session();
  const nav = document.getElementById("nav")!;
  nav.replaceChildren(...NAV.filter(([, , roles]) => !roles.length || (s && roles.includes(s.role)))
    .map(([href, w]) => h("a", { href, class: location.hash.startsWith(href) ? "active" : "" }, t(w))));
  const who = document.getElementById("who")!;
  who.replaceChildren(s
    ? h("span", {}, `${s.role === "exporter" ? t("exporter") : t("officer")} ${s.uscc ?? s.authority ?? ""} `,
        h("a", { href: "#/search", id: "signout", onclick: () => { saveSession(null); route(); } }, t("signOut")))
    : t("signedOut"));
  const lang = document.getElementById("lang")!;
  lang.textContent = getLang() === "zh" ? "English" : "中文";
  lang.onclick = () => { setLang(getLang() === "zh" ? "en" : "zh"); route(); };
  document.getElementById("footer")!.textContent = t("footer");
}

function route(): void {
  stopWatch?.abort();
  stopWatch = null;
  chrome();
  const [, page, id] = location.hash.split("/");
  const pages: Record<string, () => void> = {
    search: searchPage, signin: signinPage, register: registerPage, apply: applyPage,
    applications: () => (id ? applicationPage(decodeURIComponent(id)) : minePage()),
    queue: queuePage, publications: publicationsPage, screen: screenPage, consult: consultPage, lists: listsPage,
  };
  (pages[page] ?? searchPage)();
}

// ---------------------------------------------------------------- public search

interface SearchResult {
  entry: { entry_id: string; list_kind: string; primary_name: string; aliases: string[];
           countries: string[]; announcement: string; legal_basis: string };
  score: number; matched_name: string; match_kind: string; strength?: string;
}

const WEAK_FUZZY_BELOW = 0.84; // the screening service's potential-match threshold

function searchPage(): void {
  const q = new URLSearchParams(location.hash.split("?")[1] ?? "").get("q") ?? "";
  const input = h("input", { id: "query", name: "query", value: q, placeholder: "华为 / Lockheed Martin / 洛克希德" }) as HTMLInputElement;
  const out = h("div", { id: "results" });
  const form = h("form", { class: "card", onsubmit: (e: Event) => {
    e.preventDefault();
    history.replaceState(null, "", `#/search?q=${encodeURIComponent(input.value)}`);
    void runSearch(input.value, out);
  } }, h("label", { for: "query" }, t("query")), input,
    h("button", { class: "primary", type: "submit", id: "search-button" }, t("search")));
  main().replaceChildren(h("h1", {}, t("searchTitle")), h("p", { class: "note" }, t("searchHint")), form, out);
  if (q) void runSearch(q, out);
}

async function runSearch(query: string, out: HTMLElement): Promise<void> {
  if (!query.trim()) return;
  out.replaceChildren(h("p", { class: "note" }, "…"));
  try {
    const r = await get<{ results: SearchResult[]; total_size: number }>(
      "/v1/listEntries:search", { query, page_size: "20" });
    if (!r.results.length) { out.replaceChildren(h("p", { "data-testid": "no-results" }, t("noResults"))); return; }
    let weak = 0;
    const rows = r.results.map((x) => {
      const isWeak = x.strength === "SEARCH_MATCH_STRENGTH_WEAK"
        || (x.match_kind === "SEARCH_MATCH_KIND_FUZZY" && x.score < WEAK_FUZZY_BELOW);
      if (isWeak) weak++;
      const kind = short(x.match_kind, "SEARCH_MATCH_KIND_");
      return h("tr", { "data-testid": "result", "data-weak": String(isWeak) },
        h("td", {}, short(x.entry.list_kind, "LIST_KIND_")),
        h("td", {}, h("div", {}, x.entry.primary_name),
          x.entry.aliases.length ? h("div", { class: "note" }, x.entry.aliases.join("; ")) : null,
          x.matched_name && x.matched_name !== x.entry.primary_name ? h("div", { class: "note" }, `≈ ${x.matched_name}`) : null,
          h("div", { class: "note mono" }, x.entry.entry_id)),
        h("td", {}, `${(t(`kind_${kind}` as Word) || kind)} ${x.score.toFixed(2)} `,
          isWeak ? h("span", { class: "badge weak", "data-testid": "weak" }, t("weak")) : null),
        h("td", {}, x.entry.countries.join(", ")),
        h("td", {}, x.entry.announcement || x.entry.legal_basis));
    });
    out.replaceChildren(h("section", {},
      h("table", {}, h("thead", {}, h("tr", {}, ...(["list", "name", "match", "countries", "basis"] as Word[]).map((w) => h("th", {}, t(w))))),
        h("tbody", {}, ...rows)),
      h("p", { class: "note", "data-testid": "summary" }, `${r.results.length} / ${r.total_size} ${t("results")}`),
      weak ? h("p", { class: "note" }, h("span", { class: "badge weak" }, String(weak)), ` ${t("weakNote")}`) : null));
  } catch (e) {
    out.replaceChildren(errorBox(e));
  }
}

// ---------------------------------------------------------------- sign-in and registration

function signinPage(): void {
  const role = h("select", { id: "role" }, h("option", { value: "exporter" }, t("exporter")),
    h("option", { value: "officer" }, t("officer"))) as HTMLSelectElement;
  const cmd = h("code", { id: "token-command" });
  const arg = h("input", { id: "role-arg", value: "" }) as HTMLInputElement;
  const argLabel = h("label", { for: "role-arg" });
  const sync = () => {
    const ex = role.value === "exporter";
    argLabel.textContent = ex ? t("uscc") : t("authority");
    if (!ex && !arg.value) arg.value = "MOFCOM";
    cmd.textContent = `.venv/bin/python -m stc_cli token ${role.value} ${ex ? "--uscc" : "--authority"} ${arg.value || "…"}`;
  };
  role.onchange = () => { arg.value = ""; sync(); };
  arg.oninput = sync;
  sync();
  const token = h("textarea", { id: "token", rows: "4" }) as HTMLTextAreaElement;
  const msg = h("div");
  main().replaceChildren(h("h1", {}, t("signinTitle")), h("form", { class: "card", onsubmit: (e: Event) => {
    e.preventDefault();
    const c = claims(token.value);
    if (!c || typeof c.role !== "string") { msg.replaceChildren(h("div", { class: "error-box" }, t("badToken"))); return; }
    saveSession({ token: token.value.trim(), role: c.role, uscc: c.uscc as string | undefined,
                  authority: c.authority as string | undefined });
    location.hash = c.role === "officer" ? "#/queue" : "#/applications";
  } }, h("p", { class: "note" }, t("signinHint")), h("label", { for: "role" }, t("role")), role, argLabel, arg,
    h("p", {}, cmd), h("label", { for: "token" }, t("token")), token, msg,
    h("button", { class: "primary", type: "submit", id: "signin-button" }, t("signIn"))));
}

function field(name: string, label: Word, value = "", type = "text"): HTMLElement {
  return h("div", { class: "field" }, h("label", { for: `f-${name}` }, t(label)),
    h("input", { id: `f-${name}`, name, "data-field": name, value, type }));
}

/** Show each violation next to its input (matched by data-field), the rest above the form. */
function showViolations(form: HTMLElement, e: unknown, summary: HTMLElement): void {
  form.querySelectorAll(".field-error").forEach((x) => x.remove());
  form.querySelectorAll(".invalid").forEach((x) => x.classList.remove("invalid"));
  if (!(e instanceof ApiError) || !e.violations.length) { summary.replaceChildren(errorBox(e)); return; }
  const loose: string[] = [];
  for (const v of e.violations) {
    const path = v.field.replace(/^content\./, "").replace(/^request\./, "");
    const input = form.querySelector<HTMLElement>(`[data-field="${CSS.escape(path)}"]`);
    if (input) {
      input.classList.add("invalid");
      input.insertAdjacentElement("afterend", h("div", { class: "field-error", "data-error-for": path }, v.description));
    } else loose.push(`${v.field}: ${v.description}`);
  }
  summary.replaceChildren(h("div", { class: "error-box", "data-testid": "error" }, t("fixFields"),
    ...loose.map((l) => h("div", {}, l))));
}

function value(form: HTMLElement, name: string): string {
  return (form.querySelector<HTMLInputElement>(`[name="${name}"]`)?.value ?? "").trim();
}

function registerPage(): void {
  const s = session();
  const summary = h("div");
  const form = h("form", { class: "card", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      const op = await post<{ uscc: string }>("/v1/operators", {
        uscc: value(form, "uscc"), name_zh: value(form, "name_zh"),
        name_en: value(form, "name_en"), address: value(form, "address") });
      summary.replaceChildren(h("p", { "data-testid": "registered" }, t("registered") + op.uscc));
    } catch (err) { showViolations(form, err, summary); }
  } }, h("div", { class: "grid" }, field("uscc", "uscc", s?.uscc ?? ""), field("name_zh", "nameZh"),
      field("name_en", "nameEn"), field("address", "address")),
    summary, h("button", { class: "primary", type: "submit", id: "register-button" }, t("register")));
  main().replaceChildren(h("h1", {}, t("registerTitle")), form);
}

// ---------------------------------------------------------------- exporter: apply, list, watch

function applyPage(): void {
  const s = session();
  if (!s) { main().replaceChildren(h("p", {}, t("needSignin"))); return; }
  const today = new Date();
  const iso = (d: Date) => d.toISOString().slice(0, 10);
  const nextYear = new Date(today.getTime() + 330 * 86400e3);
  const summary = h("div");
  const form = h("form", { class: "card", id: "apply-form", onsubmit: async (e: Event) => {
    e.preventDefault();
    const ymd = (v: string) => { const [y, m, d] = v.split("-").map(Number); return { year: y, month: m, day: d }; };
    const endUser = { name: value(form, "end_user"), country: value(form, "end_user_country").toUpperCase(),
                      address: value(form, "end_user_address") };
    const content = {
      exporter_uscc: value(form, "exporter_uscc").toUpperCase(),
      licence_type: "LICENCE_TYPE_SINGLE", regime: "ITEM_REGIME_DUAL_USE", export_type: "EXPORT_TYPE_PERMANENT",
      destination: value(form, "destination").toUpperCase(),
      items: [{ control_code: value(form, "items[0].control_code"), description: value(form, "items[0].description"),
                hs_code: value(form, "items[0].hs_code"), quantity: value(form, "items[0].quantity"),
                unit: value(form, "items[0].unit"),
                value: { currency_code: "CNY", amount_minor: String(Math.round(Number(value(form, "items[0].value.amount_minor")) * 100)) } }],
      parties: [{ role: "PARTY_ROLE_IMPORTER", ...endUser, name: `${endUser.name} Procurement` },
                { role: "PARTY_ROLE_END_USER", ...endUser }],
      contract_reference: `PORTAL-${Date.now()}`,
      end_use: { category: "END_USE_CATEGORY_CIVIL", statement: value(form, "end_use.statement") },
      end_user_certificate: { issuer_kind: "CERTIFICATE_ISSUER_END_USER", issuer_name: endUser.name,
        document_sha256: Array.from(crypto.getRandomValues(new Uint8Array(32)), (b) => b.toString(16).padStart(2, "0")).join(""),
        issued_on: ymd(value(form, "end_user_certificate.issued_on")), expires_on: ymd(value(form, "end_user_certificate.expires_on")) },
      transaction: { routing_countries: ["CN", endUser.country], payment_country: endUser.country },
    };
    try {
      const a = await post<{ application_id: string }>("/v1/applications", { request_id: crypto.randomUUID(), content });
      location.hash = `#/applications/${encodeURIComponent(a.application_id)}`;
    } catch (err) { showViolations(form, err, summary); }
  } },
    h("div", { class: "grid" },
      field("exporter_uscc", "exporterUscc", s.uscc ?? ""), field("destination", "destination", "DE"),
      field("items[0].control_code", "controlCode", "1C117.c"),
      field("items[0].description", "itemDescription", "Tungsten-nickel-iron alloy bar, density 17.8 g/cm3"),
      field("items[0].hs_code", "hsCode", "8101991001"), field("items[0].quantity", "quantity", "500"),
      field("items[0].unit", "unit", "kg"), field("items[0].value.amount_minor", "valueCny", "185000"),
      field("end_user", "endUser", "Müller Präzision GmbH Werk Ulm"), field("end_user_country", "endUserCountry", "DE"),
      field("end_user_address", "address", "Industriestraße 12, 89079 Ulm"),
      field("end_user_certificate.issued_on", "eucIssued", iso(today), "date"),
      field("end_user_certificate.expires_on", "eucExpires", iso(nextYear), "date")),
    h("label", { for: "f-end_use" }, t("endUse")),
    h("textarea", { id: "f-end_use", name: "end_use.statement", "data-field": "end_use.statement", rows: "2" },
      "Counterweights for civil aircraft control surfaces; no re-export."),
    summary, h("button", { class: "primary", type: "submit", id: "submit-application" }, t("submit")));
  main().replaceChildren(h("h1", {}, t("applyTitle")), form);
}

interface Application {
  application_id: string; reference: string; state: string; authority: string;
  content: { exporter_uscc: string; destination: string; items: { control_code: string; description: string }[] };
  deadline?: { year: number; month: number; day: number }; working_days_remaining: number;
  clock_paused: boolean; licence_id: string; submitted_at?: string;
}

function applicationRows(apps: Application[], officer: boolean): HTMLElement {
  const cols: Word[] = ["reference", "state", "destination", "deadline", "daysLeft", ...(officer ? ["exporterCol" as Word, "decide" as Word] : [])];
  return h("table", { id: "applications" }, h("thead", {}, h("tr", {}, ...cols.map((w) => h("th", {}, t(w))))),
    h("tbody", {}, ...apps.map((a) => h("tr", { "data-testid": "application", "data-id": a.application_id },
      h("td", {}, h("a", { href: `#/applications/${encodeURIComponent(a.application_id)}` }, a.reference || a.application_id)),
      h("td", {}, h("span", { class: `badge state-${short(a.state, "APPLICATION_STATE_")}` }, short(a.state, "APPLICATION_STATE_"))),
      h("td", {}, a.content.destination), h("td", {}, date(a.deadline)),
      h("td", {}, a.deadline ? `${a.working_days_remaining}${a.clock_paused ? " " + t("paused") : ""}` : "-"),
      officer ? h("td", {}, a.content.exporter_uscc) : null,
      officer ? h("td", {}, decideForm(a.application_id)) : null))));
}

// Pages that load after rendering fill their own box: if the visitor has moved on meanwhile,
// the box is detached and the late answer shows nowhere.
async function minePage(): Promise<void> {
  const box = h("div");
  main().replaceChildren(h("h1", {}, t("mineTitle")), box);
  try {
    const r = await get<{ applications: Application[] }>("/v1/applications", { page_size: "50" });
    box.replaceChildren(h("section", {}, applicationRows(r.applications, false)));
  } catch (e) { box.replaceChildren(errorBox(e)); }
}

interface Factor { factor: number; title_en: string; title_zh: string; level: string;
                   findings: { code: string; text_en: string; text_zh: string; evidence: string[] }[] }
interface Assessment { recommendation: string; factors: Factor[]; policy_version: string }
interface Update { sequence: string; kind: string; state: string; note: string;
                   application?: Application; assessment?: Assessment }

function assessmentTable(a: Assessment): HTMLElement {
  const zh = getLang() === "zh";
  return h("section", { id: "assessment" },
    h("p", { "data-testid": "recommendation" }, t("assessedAs"), h("strong", {}, short(a.recommendation, "RECOMMENDATION_"))),
    h("table", {}, h("thead", {}, h("tr", {}, h("th", {}, t("factor")), h("th", {}, t("level")), h("th", {}, t("findings")))),
      h("tbody", {}, ...a.factors.map((f) => h("tr", { "data-testid": "factor" },
        h("td", {}, `${f.factor}. ${zh ? f.title_zh : f.title_en}`),
        h("td", {}, h("span", { class: `badge level-${short(f.level, "FACTOR_LEVEL_")}` }, short(f.level, "FACTOR_LEVEL_"))),
        h("td", {}, ...f.findings.map((x) => h("div", {}, zh ? x.text_zh : x.text_en,
          x.evidence.length ? h("div", { class: "note" }, x.evidence.join("; ")) : null))))))));
}

async function applicationPage(id: string): Promise<void> {
  const head = h("div");
  const assessment = h("div");
  const licence = h("div", { id: "licence" });
  const steps = h("ol", { class: "timeline", id: "timeline" });
  const s = session();
  main().replaceChildren(h("h1", {}, t("appTitle"), " ", h("span", { class: "badge good", id: "live" }, t("live"))),
    head, assessment, licence, h("section", {}, h("h2", {}, t("timeline")), steps));
  const show = (a: Application) => {
    const st = short(a.state, "APPLICATION_STATE_");
    head.replaceChildren(h("section", {},
      h("p", {}, h("strong", {}, a.reference || a.application_id), " ",
        h("span", { class: `badge state-${st}`, id: "state", "data-state": st }, st), " ", a.authority),
      h("p", { class: "note" }, `${t("deadline")}: ${date(a.deadline)} · ${t("daysLeft")}: ${a.deadline ? a.working_days_remaining : "-"}`),
      s?.role === "officer" && ["UNDER_REVIEW", "RECONSIDERATION"].includes(st) ? decideForm(a.application_id) : null,
      s?.role === "officer" && st === "UNDER_REVIEW" ? requestInfoForm(a.application_id) : null,
      s?.role === "exporter" && st === "INFORMATION_REQUESTED" ? answerForm(a.application_id) : null));
    if (a.licence_id) void showLicence(a.licence_id, licence, s?.role === "exporter");
  };
  try {
    show(await get<Application>(`/v1/applications/${encodeURIComponent(id)}`));
    try { assessment.replaceChildren(assessmentTable(await get<Assessment>(`/v1/applications/${encodeURIComponent(id)}/assessment`))); } catch { /* not yet assessed */ }
  } catch (e) { head.replaceChildren(errorBox(e)); return; }
  stopWatch = new AbortController();
  const ctl = stopWatch;
  let last = "0";
  // reconnect after a dropped stream, resuming after the last sequence seen
  while (!ctl.signal.aborted) {
    try {
      await stream<Update>(`/v1/applications/${encodeURIComponent(id)}:watch?after_sequence=${last}`, (u) => {
        last = u.sequence;
        steps.append(h("li", { "data-kind": short(u.kind, "UPDATE_KIND_") }, `${short(u.kind, "UPDATE_KIND_")} → ${short(u.state, "APPLICATION_STATE_")}${u.note ? ` — ${u.note}` : ""}`));
        if (u.application) show(u.application);
        if (u.assessment) assessment.replaceChildren(assessmentTable(u.assessment));
      }, ctl.signal);
    } catch (e) {
      if (ctl.signal.aborted) return;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function showLicence(licenceId: string, box: HTMLElement, exporter = false): Promise<void> {
  try {
    const l = await get<{ reference: string; licence_id: string; status: string; valid_until?: { year: number; month: number; day: number } }>(
      `/v1/licences/${encodeURIComponent(licenceId)}`);
    box.replaceChildren(h("section", { "data-testid": "licence" }, h("strong", {}, `${t("licence")}: ${l.reference || l.licence_id}`),
      " ", h("span", { class: "badge good" }, short(l.status, "LICENCE_STATUS_")), ` ${date(l.valid_until)}`,
      exporter ? changeForm(l.licence_id) : null));
  } catch (e) { box.replaceChildren(errorBox(e)); }
}

function requestInfoForm(applicationId: string): HTMLElement {
  const summary = h("div");
  const form: HTMLElement = h("form", { class: "card", id: "request-info", onsubmit: async (e: Event) => {
    e.preventDefault();
    const questions = value(form, "questions").split("\n").map((q) => q.trim()).filter(Boolean);
    try {
      await post(`/v1/applications/${encodeURIComponent(applicationId)}:requestInformation`, { questions });
    } catch (err) { showViolations(form, err, summary); }
  } }, h("label", { for: "f-questions" }, t("requestInfo")),
    h("textarea", { id: "f-questions", name: "questions", "data-field": "questions", rows: "2" }),
    summary, h("button", { class: "secondary", type: "submit", id: "request-info-button" }, t("send")));
  return form;
}

function answerForm(applicationId: string): HTMLElement {
  const summary = h("div");
  const form: HTMLElement = h("form", { class: "card", id: "answer-info", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      await post(`/v1/applications/${encodeURIComponent(applicationId)}:amend`, { answer: value(form, "answer") });
    } catch (err) { showViolations(form, err, summary); }
  } }, h("label", { for: "f-answer" }, t("answerInfo")),
    h("textarea", { id: "f-answer", name: "answer", "data-field": "answer", rows: "3" }),
    summary, h("button", { class: "primary", type: "submit", id: "answer-button" }, t("answer")));
  return form;
}

const CHANGE_KINDS = ["END_USER_CHANGED", "END_USER_MAY_CHANGE", "END_USE_CHANGED", "END_USE_MAY_CHANGE",
  "TRANSFER_TO_THIRD_PARTY", "CERTIFICATE_FORGED", "CERTIFICATE_ALTERED", "CERTIFICATE_EXPIRED"];

function changeForm(licenceId: string): HTMLElement {
  const summary = h("div");
  const form: HTMLElement = h("form", { class: "card", id: "report-change", onsubmit: async (e: Event) => {
    e.preventDefault();
    const kind = value(form, "kind");
    try {
      const r = await post<{ report?: { name: string } }>("/v1/changeReports", {
        request_id: crypto.randomUUID(), licence_id: licenceId, kind: `CHANGE_KIND_${kind}`,
        details: value(form, "details"),
        ...(kind === "END_USE_CHANGED" ? { new_end_use: value(form, "details") } : {}) });
      summary.replaceChildren(h("p", { "data-testid": "change-reported" }, t("reported") + (r.report?.name ?? "")));
    } catch (err) { showViolations(form, err, summary); }
  } }, h("h3", {}, t("reportChange")),
    h("label", { for: "f-kind" }, t("changeKind")),
    h("select", { id: "f-kind", name: "kind", "data-field": "kind" }, ...CHANGE_KINDS.map((k) => h("option", { value: k }, k))),
    h("label", { for: "f-details" }, t("details")),
    h("textarea", { id: "f-details", name: "details", "data-field": "details", rows: "2" }),
    summary, h("button", { class: "secondary", type: "submit", id: "report-change-button" }, t("send")));
  return form;
}

// ---------------------------------------------------------------- screening and consultations

interface Hit { party_name: string; list_kind: string; entry_id: string; entry_name: string;
                score: number; decision: string; explanation: string; matched_entry_name: string }

function screenPage(): void {
  const out = h("div", { id: "hits" });
  const form: HTMLElement = h("form", { class: "card", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      const r = await post<{ hits: Hit[]; lists_version: string }>("/v1/parties:screen", {
        party: { name: value(form, "party.name"), country: value(form, "party.country").toUpperCase() } });
      out.replaceChildren(r.hits.length ? h("section", {}, h("table", {},
        h("thead", {}, h("tr", {}, ...(["list", "name", "match", "decision", "why"] as Word[]).map((w) => h("th", {}, t(w))))),
        h("tbody", {}, ...r.hits.map((x) => h("tr", { "data-testid": "hit" },
          h("td", {}, short(x.list_kind, "LIST_KIND_")),
          h("td", {}, x.entry_name, h("div", { class: "note mono" }, x.entry_id)),
          h("td", {}, x.score.toFixed(2)),
          h("td", {}, h("span", { class: `badge ${x.decision.endsWith("_MATCH") && !x.decision.endsWith("POTENTIAL_MATCH") ? "level-CONCERN" : "level-CAUTION"}` }, short(x.decision, "HIT_DECISION_"))),
          h("td", { class: "note" }, x.explanation))))))
        : h("p", { "data-testid": "no-hits" }, t("noHits")));
    } catch (err) { showViolations(form, err, out); }
  } }, h("div", { class: "grid" }, field("party.name", "partyName"), field("party.country", "country")),
    h("button", { class: "primary", type: "submit", id: "screen-button" }, t("screen")));
  main().replaceChildren(h("h1", {}, t("screenTitle")), form, out);
}

function consultPage(): void {
  const summary = h("div");
  const form: HTMLElement = h("form", { class: "card", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      const c = await post<{ consultation_id: string; authority: string }>("/v1/consultations", {
        request_id: crypto.randomUUID(), authority: value(form, "authority") || "MOFCOM",
        question: value(form, "question"), item_description: value(form, "item_description"),
        hs_code: value(form, "hs_code") });
      summary.replaceChildren(h("p", { "data-testid": "consulted" }, `${t("consultSent")}${c.consultation_id} → ${c.authority}`));
    } catch (err) { showViolations(form, err, summary); }
  } }, h("div", { class: "grid" }, field("item_description", "itemDescription"), field("hs_code", "hsCode"),
      field("authority", "authority", "MOFCOM")),
    h("label", { for: "f-question" }, t("question")),
    h("textarea", { id: "f-question", name: "question", "data-field": "question", rows: "3" }),
    summary, h("button", { class: "primary", type: "submit", id: "consult-button" }, t("ask")));
  main().replaceChildren(h("h1", {}, t("consultTitle")), form);
}

// ---------------------------------------------------------------- officer: list maintenance

function listsPage(): void {
  const addOut = h("div");
  const add: HTMLElement = h("form", { class: "card", id: "add-entry", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      const x = await post<{ entry_id: string; primary_name: string }>("/v1/listEntries", {
        request_id: crypto.randomUUID(), reason: value(add, "reason"),
        entry: { list_kind: value(add, "entry.list_kind"), primary_name: value(add, "entry.primary_name"),
                 aliases: value(add, "entry.aliases").split(";").map((a) => a.trim()).filter(Boolean),
                 countries: value(add, "entry.countries") ? [value(add, "entry.countries").toUpperCase()] : [],
                 party_type: "entity", announcement: value(add, "entry.announcement"),
                 listed_on: { year: new Date().getFullYear(), month: new Date().getMonth() + 1, day: new Date().getDate() } } });
      addOut.replaceChildren(h("p", { "data-testid": "entry-added", "data-entry-id": x.entry_id }, `${t("added")}${x.entry_id} ${x.primary_name}`));
    } catch (err) { showViolations(add, err, addOut); }
  } },
    h("label", { for: "f-entry.list_kind" }, t("listKind")),
    h("select", { id: "f-entry.list_kind", name: "entry.list_kind", "data-field": "entry.list_kind" },
      ...["LIST_KIND_CONTROL_LIST", "LIST_KIND_WATCH_LIST", "LIST_KIND_UNRELIABLE_ENTITY_LIST"].map((k) => h("option", { value: k }, short(k, "LIST_KIND_")))),
    h("div", { class: "grid" }, field("entry.primary_name", "name"), field("entry.aliases", "aliases"),
      field("entry.countries", "country"), field("entry.announcement", "announcement"), field("reason", "reasons")),
    addOut, h("button", { class: "primary", type: "submit", id: "add-entry-button" }, t("add")));
  const removeOut = h("div");
  const remove: HTMLElement = h("form", { class: "card", id: "remove-entry", onsubmit: async (e: Event) => {
    e.preventDefault();
    try {
      await post(`/v1/listEntries/${encodeURIComponent(value(remove, "entry_id"))}:remove`, { reason: value(remove, "remove_reason") });
      removeOut.replaceChildren(h("p", { "data-testid": "entry-removed" }, t("removed") + value(remove, "entry_id")));
    } catch (err) { showViolations(remove, err, removeOut); }
  } }, h("div", { class: "grid" }, field("entry_id", "entryId"), field("remove_reason", "reasons")),
    removeOut, h("button", { class: "secondary", type: "submit", id: "remove-entry-button" }, t("remove")));
  main().replaceChildren(h("h1", {}, t("listsTitle")), add, remove);
}

// ---------------------------------------------------------------- officer: queue and decide

function decideForm(applicationId: string): HTMLElement {
  const reasons = h("input", { name: "reasons", placeholder: t("reasons"), "data-field": "reasons" }) as HTMLInputElement;
  const out = h("span");
  const decide = async (decision: string, form: HTMLElement) => {
    try {
      await post(`/v1/applications/${encodeURIComponent(applicationId)}:decide`, {
        decision, reasons: reasons.value ? [reasons.value] : [] });
      out.replaceChildren(h("span", { class: "badge good", "data-testid": "decided" }, t("decided")));
    } catch (e) { showViolations(form, e, out); }
  };
  const form: HTMLElement = h("form", { class: "decide", onsubmit: (e: Event) => e.preventDefault() }, reasons,
    h("button", { class: "secondary", type: "button", "data-action": "approve", onclick: () => decide("DECISION_APPROVE", form) }, t("approve")),
    " ",
    h("button", { class: "secondary", type: "button", "data-action": "deny", onclick: () => decide("DECISION_DENY", form) }, t("deny")),
    out);
  return form;
}

async function queuePage(): Promise<void> {
  const box = h("div");
  main().replaceChildren(h("h1", {}, t("queueTitle")), box);
  try {
    const r = await get<{ applications: Application[] }>("/v1/reviewQueue", { page_size: "50" });
    box.replaceChildren(h("section", {}, applicationRows(r.applications, true)));
  } catch (e) { box.replaceChildren(errorBox(e)); }
}

// ---------------------------------------------------------------- public: credit publications

interface Publication { leaf_index: string; kind: string; record_id: string; uscc: string;
                        canonical: string; published_on?: { year: number; month: number; day: number } }

const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

async function sha256(...parts: Uint8Array[]): Promise<Uint8Array> {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { all.set(p, o); o += p.length; }
  return new Uint8Array(await crypto.subtle.digest("SHA-256", all));
}

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to from leaf `index` of `size`. */
export async function rootFromInclusionProof(index: bigint, size: bigint, leaf: Uint8Array,
                                             proof: Uint8Array[]): Promise<Uint8Array | null> {
  if (index >= size) return null;
  let fn = index, sn = size - 1n;
  let r = await sha256(new Uint8Array([0]), leaf);
  for (const p of proof) {
    if (sn === 0n) return null;
    if ((fn & 1n) === 1n || fn === sn) {
      r = await sha256(new Uint8Array([1]), p, r);
      if ((fn & 1n) === 0n) while ((fn & 1n) === 0n && fn !== 0n) { fn >>= 1n; sn >>= 1n; }
    } else {
      r = await sha256(new Uint8Array([1]), r, p);
    }
    fn >>= 1n; sn >>= 1n;
  }
  return sn === 0n ? r : null;
}

async function verifyPublication(p: Publication, out: HTMLElement): Promise<void> {
  try {
    const cp = await get<{ tree_size: string; root_hash: string; note: string }>("/v1/checkpoint");
    const rec = await get<{ canonical: string; inclusion_proof: string[]; tree_size: string }>(
      `/v1/publications/${p.leaf_index}`, { tree_size: cp.tree_size });
    const root = await rootFromInclusionProof(BigInt(p.leaf_index), BigInt(cp.tree_size),
      b64(rec.canonical), rec.inclusion_proof.map(b64));
    const ok = root !== null && hex(root) === hex(b64(cp.root_hash));
    out.replaceChildren(h("span", { class: ok ? "badge good" : "badge level-CONCERN", "data-testid": "verification",
                                    "data-ok": String(ok), title: cp.note },
      ok ? `${t("verified")} ${cp.tree_size} (root ${hex(b64(cp.root_hash)).slice(0, 16)}…)` : t("notVerified")));
  } catch (e) { out.replaceChildren(errorBox(e)); }
}

async function publicationsPage(): Promise<void> {
  const box = h("div");
  main().replaceChildren(h("h1", {}, t("pubTitle")), h("p", { class: "note" }, t("pubHint")), box);
  try {
    const r = await get<{ publications: Publication[] }>("/v1/publications", { page_size: "50" });
    if (!r.publications.length) { box.replaceChildren(h("p", {}, t("noPublications"))); return; }
    const text = (c: string) => { try { return new TextDecoder().decode(b64(c)); } catch { return c; } };
    box.replaceChildren(h("section", {}, h("table", {},
      h("thead", {}, h("tr", {}, ...(["leaf", "kindCol", "uscc", "published", "record", "verify"] as Word[]).map((w) => h("th", {}, t(w))))),
      h("tbody", {}, ...r.publications.map((p) => {
        const out = h("span");
        return h("tr", { "data-testid": "publication" }, h("td", {}, p.leaf_index), h("td", {}, p.kind),
          h("td", { class: "mono" }, p.uscc), h("td", {}, date(p.published_on)),
          h("td", { class: "note mono" }, text(p.canonical).slice(0, 160)),
          h("td", {}, h("button", { class: "secondary", type: "button", onclick: () => verifyPublication(p, out) }, t("verify")), " ", out));
      })))));
  } catch (e) { box.replaceChildren(errorBox(e)); }
}

setLang(getLang());
window.addEventListener("hashchange", route);
route();
