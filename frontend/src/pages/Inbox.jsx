import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api.js';
import { ErrorBox, Loading } from '../components/ui.jsx';
import { formatDate } from '../data.js';
import { INBOX_CHANGED } from '../components/Layout.jsx';
import { useI18n } from '../i18n.jsx';

/** Text and link of one notification. */
export function describe(n, t, has = t.has) {
  const p = n.payload || {};
  if (n.kind === 'match') {
    return {
      text: t('inbox.match', { want: p.want_title ?? '', offer: p.offer_title ?? '' }),
      to: '/matches',
    };
  }
  if (n.kind === 'exchange') {
    const base = String(p.event || '').split(':')[0];
    const key = `inbox.ev.${base}`;
    const ev = has(key) ? t(key) : String(p.event || p.status || '');
    const by = p.by ? t('inbox.by', { by: `@${p.by}` }) : '';
    return { text: t('inbox.exchange', { id: p.exchange_id, event: ev }) + by, to: '/exchanges' };
  }
  return { text: String(p.text || p.message || n.kind), to: null };
}

export default function Inbox() {
  const { t, has, lang } = useI18n();
  const [list, setList] = useState(null);
  const [error, setError] = useState(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const res = await api.get('/notifications', { params: { limit: 100 } });
      setList(res.data);
      // Seen now: the list keeps showing what was new, the server stops counting it.
      if (res.data.some((n) => !n.read_at)) {
        await api.post('/notifications/read');
        window.dispatchEvent(new Event(INBOX_CHANGED));
      }
    } catch (err) {
      setError(err);
    }
  }, []);

  useEffect(() => {
    load();
  }, [load]);

  return (
    <section className="narrow">
      <h1>{t('inbox.title')}</h1>
      <ErrorBox error={error} onRetry={load} />
      {list === null && !error && <Loading />}
      {list && list.length === 0 && <p className="empty">{t('inbox.empty')}</p>}
      <ul className="inbox">
        {(list || []).map((n) => {
          const { text, to } = describe(n, t, has);
          return (
            <li key={n.id} className={n.read_at ? 'card note' : 'card note unread'}>
              <span className={`note-icon note-${n.kind}`} aria-hidden="true">
                {n.kind === 'match' ? '✦' : '⇄'}
              </span>
              <div className="note-body">
                {to ? <Link to={to}>{text}</Link> : <span>{text}</span>}
                <div className="muted small">
                  {formatDate(n.created_at, lang)}
                  {!n.read_at && <span className="badge badge-new">{t('inbox.unread')}</span>}
                </div>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
