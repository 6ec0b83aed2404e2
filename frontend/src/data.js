// Small caches of things many pages show: categories, other users, items by id.
import { useCallback, useEffect, useState } from 'react';
import { api } from './api.js';

let categoriesPromise = null;
const users = new Map();
const items = new Map();

export function forgetCaches() {
  users.clear();
  items.clear();
}

export function loadCategories() {
  if (!categoriesPromise) {
    categoriesPromise = api.get('/categories').then(
      (res) => res.data,
      (err) => {
        categoriesPromise = null;
        throw err;
      },
    );
  }
  return categoriesPromise;
}

export function useCategories() {
  const [list, setList] = useState([]);
  useEffect(() => {
    let alive = true;
    loadCategories().then((c) => alive && setList(c), () => {});
    return () => {
      alive = false;
    };
  }, []);
  return list;
}

export function categoryName(categories, slug, lang) {
  const c = categories.find((x) => x.slug === slug);
  if (!c) return slug;
  return lang === 'en' ? c.name_en : c.name_ru;
}

function cached(map, key, load) {
  if (!map.has(key)) {
    map.set(
      key,
      load().catch((err) => {
        map.delete(key);
        // Gone or hidden (e.g. exchanged and deactivated): show a placeholder, not an error.
        if (err?.response?.status === 404) return null;
        throw err;
      }),
    );
  }
  return map.get(key);
}

export const getUser = (id) => cached(users, id, () => api.get(`/users/${id}`).then((r) => r.data));
// After an exchange the server still shows its items to the parties: nothing to remember here.
export const getItem = (id) => cached(items, id, () => api.get(`/items/${id}`).then((r) => r.data));
export function rememberItem(item) {
  items.set(item.id, Promise.resolve(item));
}

/** {id: value} for the given ids, loaded through `getter`; missing ones map to null. */
export function useMany(ids, getter, version = 0) {
  const [found, setFound] = useState({});
  const key = [...new Set(ids)].sort((a, b) => a - b).join(',');
  useEffect(() => {
    let alive = true;
    const wanted = key ? key.split(',').map(Number) : [];
    Promise.all(wanted.map((id) => getter(id).catch(() => null))).then((values) => {
      if (!alive) return;
      const out = {};
      wanted.forEach((id, i) => {
        out[id] = values[i];
      });
      setFound(out);
    });
    return () => {
      alive = false;
    };
  }, [key, getter, version]);
  return found;
}

/**
 * What GET `path` answers, loaded on mount: {data, setData, error, setError, load}.
 * `data` is null until the first answer; `load` fetches again (the retry of an ErrorBox).
 * `onLoad(data)` runs before each answer is shown.
 */
export function useFetched(path, onLoad) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(async () => {
    setError(null);
    try {
      const res = await api.get(path);
      onLoad?.(res.data);
      setData(res.data);
    } catch (err) {
      setError(err);
    }
    // onLoad is a page's own function, fixed for the page's life: only the path reloads
  }, [path]);
  useEffect(() => {
    load();
  }, [load]);
  return { data, setData, error, setError, load };
}

/** Run one action at a time: `busy` holds its key while it runs; a failure goes to `setError`. */
export function useAction(setError) {
  const [busy, setBusy] = useState(null);
  const run = async (key, action) => {
    setBusy(key);
    setError(null);
    try {
      await action();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };
  return [busy, run];
}

/** How a page names loaded people and items: '…' while loading, a placeholder when gone. */
export function namers(people, items, t, meId) {
  return {
    who: (id) =>
      people[id] === undefined ? '…' : displayName(people[id], t, meId) || t('common.user', { id }),
    itemTitle: (id) =>
      items[id] === undefined ? '…' : items[id]?.title || t('common.item', { id }),
  };
}

export function displayName(user, t, meId) {
  if (!user) return '';
  if (meId && user.id === meId) return t('common.you');
  return user.display_name || `@${user.username}`;
}

export function formatDate(value, lang, dateOnly = false) {
  if (!value) return '';
  // The API sends naive UTC timestamps on SQLite: read them as UTC.
  const iso = /[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return value;
  const locale = lang === 'en' ? 'en-GB' : 'ru-RU';
  if (dateOnly) return d.toLocaleDateString(locale, { day: 'numeric', month: 'long', year: 'numeric' });
  return d.toLocaleString(locale, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' });
}
