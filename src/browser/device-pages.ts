import type { SafeHtml } from './html.js';
import { html } from './html.js';
import { scopeList, signOutForm } from './pages.js';

export interface DeviceCodePageModel {
  csrfToken: string;
  username: string;
  /** What the user typed, or what verification_uri_complete filled in. */
  userCode?: string;
  error?: string;
}

/** RFC 8628 §3.3: where the user types the code their command-line tool shows. */
export function deviceCodePage(model: DeviceCodePageModel): SafeHtml {
  const errorId = 'user-code-error';
  return html`<h1>Connect a device</h1>
    <p class="lead">
      Signed in as <strong>${model.username}</strong>. Enter the code your
      device or command-line tool shows.
    </p>
    ${model.error === undefined ? null : html`<p class="error" id="${errorId}" role="alert">${model.error}</p>`}
    <form method="post" action="/device">
      <input type="hidden" name="csrf" value="${model.csrfToken}" />
      <label for="user_code">Code</label>
      <input
        id="user_code"
        name="user_code"
        type="text"
        inputmode="text"
        autocomplete="one-time-code"
        autocapitalize="characters"
        spellcheck="false"
        required
        placeholder="WDJB-MJHT"
        value="${model.userCode ?? ''}"
        ${model.error === undefined ? null : html` aria-describedby="${errorId}" aria-invalid="true"`}
      />
      <button type="submit">Continue</button>
    </form>
    ${signOutForm(model.csrfToken)} `;
}

export interface DeviceConfirmPageModel {
  csrfToken: string;
  username: string;
  userCode: string;
  clientName: string;
  scopes: readonly { name: string; description: string }[];
  /** The API the tokens are for, when not this service. */
  resourceName?: string;
}

/**
 * The decision itself: the code is repeated on the page so that the user
 * checks it against their device's, which is what stops a code phished
 * from someone else's tool (RFC 8628 §5.4).
 */
export function deviceConfirmPage(model: DeviceConfirmPageModel): SafeHtml {
  return html`<h1>Allow ${model.clientName}?</h1>
    <p class="lead">
      Signed in as <strong>${model.username}</strong>. A device showing the code
      <strong class="code">${model.userCode}</strong> asks to:
    </p>
    ${scopeList(model.scopes)}
    ${model.resourceName === undefined ? null : html`<p class="aside">at <strong>${model.resourceName}</strong></p>`}
    <p class="aside">
      Allow only if you started this on your own device and the code matches.
    </p>
    <form method="post" action="/device/decision">
      <input type="hidden" name="csrf" value="${model.csrfToken}" />
      <input type="hidden" name="user_code" value="${model.userCode}" />
      <div class="actions">
        <button type="submit" name="decision" value="allow">Allow</button>
        <button type="submit" name="decision" value="deny" class="secondary">
          Deny
        </button>
      </div>
    </form> `;
}

export function deviceDonePage(allowed: boolean, clientName: string): SafeHtml {
  return allowed
    ? html`<h1>Device connected</h1>
        <p class="lead">
          <strong>${clientName}</strong> is signed in. You can close this page
          and go back to your device.
        </p> `
    : html`<h1>Request denied</h1>
        <p class="lead">
          <strong>${clientName}</strong> was not given access. You can close
          this page.
        </p> `;
}
