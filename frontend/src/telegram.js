// Opened as a Telegram Mini App (the bot's "Open in Telegram" button), the page's address
// carries the signed launch data in its fragment as tgWebAppData. Reading it here spares
// loading Telegram's script from a third-party host; the server verifies the signature.

/** The Mini App's initData from a location hash ("#tgWebAppData=...&..."), or null. */
export function miniAppInitData(hash) {
  if (!hash || hash.length < 2) return null;
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const data = params.get('tgWebAppData');
  return data ? data : null;
}

/** Remove the launch data from the address bar (it is a credential until it expires). */
export function forgetMiniAppData(win = window) {
  win.history.replaceState(null, '', win.location.pathname + win.location.search);
}
