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

/** One validation issue of a 422 answer in the viewer's language, from its pydantic type. */
export function issueMessage(issue, t) {
  const ctx = issue?.ctx || {};
  switch (issue?.type) {
    case 'string_too_short':
      return t('v.tooShort', { n: ctx.min_length ?? 1 });
    case 'string_too_long':
      return t('v.tooLong', { n: ctx.max_length ?? 0 });
    case 'missing':
      return t('v.required');
    default:
      return t('v.invalid');
  }
}

/** Per-field messages of a 422 answer, translated: {title: "At least 2 characters"}. */
export function fieldErrors(error, t) {
  const detail = error?.response?.data?.detail;
  const out = {};
  if (error?.response?.status !== 422 || !Array.isArray(detail)) return out;
  for (const d of detail) {
    const field = fieldOf(d?.loc) || '_';
    const msg = issueMessage(d, t);
    out[field] = out[field] ? `${out[field]}; ${msg}` : msg;
  }
  return out;
}

/**
 * One sentence for any failed request, in the viewer's language: the API names every error
 * with a `code` and its `params`, which the catalogs turn into text (`error.<code>`).
 */
export function errorMessage(error, t, has = () => false) {
  if (!error) return '';
  const res = error.response;
  if (!res) {
    if (error.code === 'ECONNABORTED') return t('err.timeout');
    return t('err.network');
  }
  const data = res.data || {};
  if (Array.isArray(data.detail)) {
    return data.detail
      .map((d) => {
        const f = fieldOf(d?.loc);
        const msg = issueMessage(d, t);
        return f ? t('err.field', { field: f, message: msg }) : msg;
      })
      .join('; ');
  }
  if (typeof data.code === 'string' && has(`error.${data.code}`)) {
    return t(`error.${data.code}`, data.params || {});
  }
  return t('err.http', { status: res.status });
}
