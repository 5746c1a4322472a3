import type { FastifyReply } from 'fastify';
import type { SafeHtml } from './html.js';
import { html } from './html.js';

/** POST /users in Swagger UI: registration has no page of its own yet. */
const REGISTRATION_LINK = '/docs#/users/registerUser';

/** The stylesheet of every page, served by AssetsController. */
export const STYLESHEET_PATH = '/assets/login.css';
export const FAVICON_PATH = '/assets/favicon.svg';

/** A key on the accent colour: the icon of the sign-in pages' tab. */
export const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="7" fill="#2554c7"/><circle cx="12" cy="16" r="5" fill="none" stroke="#fff" stroke-width="3"/><path d="M17 16h10m-4 0v4m3-4v3" stroke="#fff" stroke-width="3" stroke-linecap="round" fill="none"/></svg>`;

export interface PageOptions {
  title: string;
  status?: number;
  /**
   * Origins a form of the page may end up at besides this one: Chromium
   * applies `form-action` to the redirects that follow a submission, so a
   * sign-in that ends at the client's redirect URI needs its origin here.
   */
  formTargets?: readonly string[];
  headers?: Readonly<Record<string, string>>;
}

/**
 * Sends a server-rendered page: no script at all, the one stylesheet from
 * this origin, never framed (RFC 9700 §4.16, clickjacking), never cached
 * (it holds a CSRF token, and may name the user).
 */
export function sendPage(
  reply: FastifyReply,
  body: SafeHtml,
  { title, status = 200, formTargets = [], headers = {} }: PageOptions,
): void {
  const formAction = ["'self'", ...formTargets].join(' ');
  void reply
    .status(status)
    .headers({
      ...headers,
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      pragma: 'no-cache',
      'x-frame-options': 'DENY',
      'content-security-policy': `default-src 'none'; style-src 'self'; img-src 'self'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`,
      'referrer-policy': 'no-referrer',
    })
    .send(layout(title, body).text);
}

function layout(title: string, body: SafeHtml): SafeHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title}</title>
        <link rel="stylesheet" href="${STYLESHEET_PATH}" />
        <link rel="icon" href="${FAVICON_PATH}" type="image/svg+xml" />
      </head>
      <body>
        <main class="card">${body}</main>
      </body>
    </html> `;
}

export interface LoginPageModel {
  csrfToken: string;
  returnTo: string;
  username?: string;
  /** Shown above the form, and tied to the fields it concerns. */
  error?: string;
  /** The error concerns the password field (a wrong password), or the form as a whole. */
  errorField?: 'password' | 'form';
  registrationOpen: boolean;
  /** The name of the app that asked for the sign-in, if any. */
  clientName?: string;
}

export function loginPage(model: LoginPageModel): SafeHtml {
  const errorId = 'login-error';
  const describedBy = (field: 'username' | 'password') =>
    model.error !== undefined &&
    (model.errorField === 'form' || model.errorField === field)
      ? html` aria-describedby="${errorId}" aria-invalid="true"`
      : html``;
  return html`<h1>Sign in</h1>
    ${model.clientName === undefined ? null : html`<p class="lead">to continue to <strong>${model.clientName}</strong></p>`}
    ${model.error === undefined ? null : html`<p class="error" id="${errorId}" role="alert">${model.error}</p>`}
    <form method="post" action="/login">
      <input type="hidden" name="csrf" value="${model.csrfToken}" />
      <input type="hidden" name="return" value="${model.returnTo}" />
      <label for="username">Username</label>
      <input
        id="username"
        name="username"
        type="text"
        autocomplete="username"
        autocapitalize="none"
        spellcheck="false"
        required
        value="${model.username ?? ''}"
        ${describedBy('username')}
      />
      <label for="password">Password</label>
      <input
        id="password"
        name="password"
        type="password"
        autocomplete="current-password"
        required${describedBy('password')}
      />
      <button type="submit">Sign in</button>
    </form>
    ${model.registrationOpen ? html`<p class="aside">No account yet? <a href="${REGISTRATION_LINK}">Create an account</a> (in the API explorer), then sign in here.</p>` : null} `;
}

export function signedInPage(username: string, csrfToken: string): SafeHtml {
  return html`<h1>You are signed in</h1>
    <p class="lead">Signed in as <strong>${username}</strong>.</p>
    ${signOutForm(csrfToken)} `;
}

export function signOutForm(csrfToken: string): SafeHtml {
  return html`<form method="post" action="/logout" class="inline">
    <input type="hidden" name="csrf" value="${csrfToken}" />
    <button type="submit" class="secondary">Sign out</button>
  </form>`;
}

export function signedOutPage(): SafeHtml {
  return html`<h1>You are signed out</h1>
    <p class="lead">This browser is no longer signed in.</p>
    <p><a href="/login">Sign in again</a></p> `;
}

export interface ConsentPageModel {
  clientName: string;
  username: string;
  /** Each scope with its words. */
  scopes: readonly { name: string; description: string }[];
  /** The API the scopes are for, when not this service. */
  resourceName?: string;
  csrfToken: string;
  /** The authorization request, repeated in the form so that the decision is about exactly it. */
  fields: readonly [name: string, value: string][];
}

export function consentPage(model: ConsentPageModel): SafeHtml {
  return html`<h1>Allow ${model.clientName} access?</h1>
    <p class="lead">
      Signed in as <strong>${model.username}</strong>.
      <strong>${model.clientName}</strong> asks to:
    </p>
    ${scopeList(model.scopes)}
    ${model.resourceName === undefined ? null : html`<p class="aside">at <strong>${model.resourceName}</strong></p>`}
    <form method="post" action="/auth/authorize">
      <input type="hidden" name="csrf" value="${model.csrfToken}" />
      ${model.fields.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}" />`)}
      <div class="actions">
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny" class="secondary">
          Deny
        </button>
      </div>
    </form>
    <p class="aside">
      You can withdraw this later:
      <code>DELETE /users/me/consents/{clientId}</code>.
    </p> `;
}

/** Scopes in words, each with its name: what the consent and device pages ask a person to allow. */
export function scopeList(
  scopes: readonly { name: string; description: string }[],
): SafeHtml {
  return html`<ul class="scopes">
    ${scopes.map((scope) => html`<li><span class="scope-words">${scope.description}</span> <code>${scope.name}</code></li>`)}
  </ul>`;
}

export function errorPage(title: string, message: string): SafeHtml {
  return html`<h1>${title}</h1>
    <p class="error" role="alert">${message}</p>
    <p class="aside">
      Go back to the app you came from and try again. If this keeps happening,
      tell the app's owner.
    </p> `;
}

/** A small, quiet stylesheet: readable type, a card, visible focus. */
export const STYLESHEET = `:root {
  color-scheme: light dark;
  --bg: #f4f5f7; --card: #fff; --text: #1c1e21; --muted: #5f6670;
  --accent: #2554c7; --accent-text: #fff; --border: #d5d9e0; --error: #b3261e; --error-bg: #fdecea;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #15171a; --card: #1f2226; --text: #e8eaed; --muted: #a0a6ad;
    --accent: #7fa2ff; --accent-text: #0d1321; --border: #3a3f45; --error: #ffb4ab; --error-bg: #3b1512; }
}
* { box-sizing: border-box; }
body { margin: 0; min-height: 100vh; display: grid; place-items: center; padding: 1.5rem;
  background: var(--bg); color: var(--text);
  font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
.card { width: 100%; max-width: 26rem; background: var(--card); border: 1px solid var(--border);
  border-radius: 12px; padding: 2rem; box-shadow: 0 2px 12px rgb(0 0 0 / 0.06); }
h1 { font-size: 1.5rem; margin: 0 0 0.5rem; }
.lead { color: var(--muted); margin: 0 0 1.25rem; }
label { display: block; font-weight: 600; margin: 1rem 0 0.35rem; }
input[type=text], input[type=password] { width: 100%; padding: 0.65rem 0.75rem; font: inherit;
  color: inherit; background: transparent; border: 1px solid var(--border); border-radius: 8px; }
input[aria-invalid=true] { border-color: var(--error); }
button { margin-top: 1.5rem; width: 100%; padding: 0.7rem 1rem; font: inherit; font-weight: 600;
  border: 1px solid var(--accent); border-radius: 8px; background: var(--accent); color: var(--accent-text); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
.actions { display: flex; gap: 0.75rem; }
.inline button { width: auto; }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.error { background: var(--error-bg); color: var(--error); border-radius: 8px; padding: 0.65rem 0.85rem; margin: 0 0 1rem; }
.aside { color: var(--muted); font-size: 0.9rem; margin-top: 1.25rem; }
.scopes { padding-left: 1.2rem; }
.scopes li { margin: 0.4rem 0; }
code { font-size: 0.85em; color: var(--muted); }
.code { font-family: ui-monospace, monospace; letter-spacing: 0.08em; }
a { color: var(--accent); }
`;
