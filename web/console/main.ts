import './console.css';
import { forgetKey, storedKey, storeKey } from '../shared/session';
import { Api, ApiError } from './api';
import { h, messageOf, replace } from './dom';
import { expiresIn, finishOidcSignIn, oidcConfig, startOidcSignIn } from './oidc';
import { adminView } from './views/admin';
import { anomaliesView } from './views/anomalies';
import { deviceView } from './views/device';
import { fleetView } from './views/fleet';
import type { Session, View } from './views/view';

/**
 * The console shell: sign-in, the navigation the key's role allows, and a hash router
 * (#/fleet, #/device/<id>, #/anomalies, #/admin) so that no route needs the server and the
 * key never appears in a URL.
 */
const root = document.getElementById('app')!;
let session: Session | undefined;
let current: View | undefined;
let expiry: ReturnType<typeof setTimeout> | undefined;

async function signIn(key: string): Promise<Session> {
  const api = new Api(key);
  const { viewer } = await api.request<{ viewer: { role: Session['role']; keyId: string } }>('query Viewer { viewer { role keyId } }');
  if (viewer.role === 'DEVICE') {
    api.close();
    throw new ApiError('a DEVICE key only sends readings: sign in with a READER or ADMIN key', 'FORBIDDEN');
  }
  // A token stops working when it expires: say so rather than let every view fail one by one.
  const remaining = expiresIn(key);
  clearTimeout(expiry);
  if (remaining !== undefined) expiry = setTimeout(() => signOut('Your sign-in has expired: sign in again.'), Math.max(0, Math.min(remaining, 2 ** 31 - 1)));
  return { api, role: viewer.role, keyId: viewer.keyId };
}

function signInForm(message?: string): void {
  current?.dispose();
  current = undefined;
  const input = h('input', { id: 'api-key', name: 'api-key', type: 'password', autocomplete: 'off', required: true, spellcheck: 'false' });
  const error = h('p', { id: 'sign-in-error', class: 'error', role: 'alert' }, message);
  const form = h(
    'form',
    { class: 'sign-in', 'aria-labelledby': 'sign-in-title' },
    h('h1', { id: 'sign-in-title' }, 'Telemetry console'),
    h('label', { for: 'api-key' }, 'API key'),
    input,
    h('p', { class: 'hint' }, 'A READER or ADMIN key (tk_...). It is kept in this tab only, until you sign out or close it.'),
    h('button', { type: 'submit' }, 'Sign in'),
    error,
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void (async () => {
      try {
        session = await signIn(input.value.trim());
        storeKey(input.value.trim());
        if (!location.hash || location.hash === '#/') location.hash = '#/fleet';
        render();
      } catch (caught) {
        replace(error, messageOf(caught));
      }
    })();
  });
  replace(root, h('main', { id: 'main' }, form));
  input.focus();
  void oidcConfig().then((config) => {
    if (!config || !form.isConnected) return;
    const button = h('button', { type: 'button', class: 'secondary', id: 'oidc-sign-in' }, `Sign in with ${new URL(config.issuer).host}`);
    button.addEventListener('click', () => void startOidcSignIn(config).catch((caught: unknown) => replace(error, messageOf(caught))));
    form.insertBefore(button, error);
  });
}

function signOut(message?: string): void {
  clearTimeout(expiry);
  session?.api.close();
  session = undefined;
  forgetKey();
  // Not `location.hash = ''`: its hashchange would render the form again and drop the message.
  history.replaceState(null, '', location.pathname);
  signInForm(message);
}

function shell(active: Session): { main: HTMLElement } {
  const link = (hash: string, text: string) => h('a', { href: hash, 'aria-current': location.hash.startsWith(hash) ? 'page' : undefined }, text);
  const connection = h('span', { id: 'connection', class: 'connection', role: 'status', 'aria-live': 'polite' }, 'live');
  active.api.onConnection((state) => {
    connection.textContent = state;
    connection.dataset['state'] = state;
  });
  const main = h('main', { id: 'main', tabindex: '-1' });
  replace(
    root,
    // The hash is the router's: following '#main' would leave the page. Move focus instead.
    h(
      'a',
      {
        class: 'skip',
        href: '#main',
        onclick: (event: Event) => {
          event.preventDefault();
          main.focus();
        },
      },
      'Skip to content',
    ),
    h(
      'header',
      {},
      h(
        'nav',
        { 'aria-label': 'Console' },
        link('#/fleet', 'Fleet'),
        link('#/anomalies', 'Anomalies'),
        active.role === 'ADMIN' && link('#/admin', 'Admin'),
        h('a', { href: '/graphql' }, 'GraphiQL'),
      ),
      h('span', { class: 'who' }, `${active.role.toLowerCase()} ${active.keyId.startsWith('oidc:') ? active.keyId.slice(5) : 'key'}`),
      connection,
      h('button', { type: 'button', class: 'secondary', id: 'sign-out', onclick: () => signOut() }, 'Sign out'),
    ),
    main,
  );
  return { main };
}

function render(): void {
  if (!session) {
    signInForm();
    return;
  }
  current?.dispose();
  const { main } = shell(session);
  const [, page, ...rest] = location.hash.split('/');
  const argument = decodeURIComponent(rest.join('/'));
  if (page === 'device' && argument) current = deviceView(session, main, argument);
  else if (page === 'anomalies') current = anomaliesView(session, main);
  else if (page === 'admin' && session.role === 'ADMIN') current = adminView(session, main);
  else current = fleetView(session, main);
}

window.addEventListener('hashchange', render);

void (async () => {
  let returned: string | undefined;
  try {
    returned = await finishOidcSignIn();
  } catch (caught) {
    signInForm(messageOf(caught));
    return;
  }
  if (returned) storeKey(returned);
  const key = storedKey();
  if (!key) {
    signInForm();
    return;
  }
  try {
    session = await signIn(key);
    if (returned && (!location.hash || location.hash === '#/')) location.hash = '#/fleet';
    render();
  } catch (caught) {
    forgetKey();
    signInForm(messageOf(caught));
  }
})();
