// The one HTTP client of the web UI: cookie session + CSRF header, readable errors.
import axios from 'axios';

export const CSRF_COOKIE = 'fm_csrf';
export const CSRF_HEADER = 'X-CSRF-Token';
const SAFE = new Set(['get', 'head', 'options']);

export function readCookie(name, cookieString = typeof document === 'undefined' ? '' : document.cookie) {
  for (const part of cookieString.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return part.slice(eq + 1).trim();
      }
    }
  }
  return null;
}

export const api = axios.create({
  baseURL: '/api',
  withCredentials: true,
  timeout: 20000,
  headers: { Accept: 'application/json' },
});

// Bumped on every sign-in and sign-out: an answer to a request sent under an older session
// (a slow /users/me 401 racing a sign-in) must not undo the newer state.
let sessionEpoch = 0;
export function newSessionEpoch() {
  sessionEpoch += 1;
  return sessionEpoch;
}
export function currentSessionEpoch() {
  return sessionEpoch;
}

api.interceptors.request.use((config) => {
  config.fmEpoch = sessionEpoch;
  const method = (config.method || 'get').toLowerCase();
  if (!SAFE.has(method)) {
    const csrf = readCookie(CSRF_COOKIE);
    if (csrf) config.headers[CSRF_HEADER] = csrf;
  }
  return config;
});

// Who to tell when the session is gone (set by the auth provider).
let onUnauthorized = null;
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

api.interceptors.response.use(
  (response) => response,
  (error) => {
    const status = error?.response?.status;
    const url = error?.config?.url || '';
    // A failed sign-in attempt is the sign-in page's own business.
    const current = error?.config?.fmEpoch === sessionEpoch;
    if (status === 401 && current && !url.startsWith('/auth/') && onUnauthorized) onUnauthorized();
    return Promise.reject(error);
  },
);

/** Field name of a FastAPI validation error's location (["body", "title"] -> "title"). */
function fieldOf(loc) {
  if (!Array.isArray(loc)) return null;
  const parts = loc.filter((p) => p !== 'body' && p !== 'query' && p !== 'path');
  return parts.length ? String(parts[0]) : null;
}

/** Per-field messages of a 422 answer: {title: "String should have at least 2 characters"}. */
export function fieldErrors(error) {
  const detail = error?.response?.data?.detail;
  const out = {};
  if (error?.response?.status !== 422 || !Array.isArray(detail)) return out;
  for (const d of detail) {
    const field = fieldOf(d?.loc) || '_';
    const msg = String(d?.msg || 'invalid').replace(/^Value error, /, '');
    out[field] = out[field] ? `${out[field]}; ${msg}` : msg;
  }
  return out;
}

/** One readable sentence for any failed request. */
export function errorMessage(error, t = (k) => k) {
  if (!error) return '';
  const res = error.response;
  if (!res) {
    if (error.code === 'ECONNABORTED') return t('err.timeout');
    return error.message ? `${t('err.network')} (${error.message})` : t('err.network');
  }
  const detail = res.data?.detail;
  let text = '';
  if (typeof detail === 'string') text = detail;
  else if (Array.isArray(detail)) {
    text = detail
      .map((d) => {
        const f = fieldOf(d?.loc);
        return f ? `${f}: ${d?.msg}` : d?.msg;
      })
      .join('; ');
  }
  const prefix = {
    401: t('err.401'),
    403: t('err.403'),
    404: t('err.404'),
    409: t('err.409'),
    422: t('err.422'),
    429: t('err.429'),
  }[res.status] || `${t('err.http')} ${res.status}`;
  return text ? `${prefix}: ${text}` : prefix;
}
