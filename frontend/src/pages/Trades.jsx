import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ErrorBox, Loading, ProposeAction, ScoreBar } from '../components/ui.jsx';
import { displayName, getItem, getUser, useMany } from '../data.js';
import { useI18n } from '../i18n.jsx';

export default function Trades() {
  const { t } = useI18n();
  const { me } = useAuth();
  const [trades, setTrades] = useState(null);
  const [error, setError] = useState(null);
  const [proposed, setProposed] = useState({});
  const [busy, setBusy] = useState(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const res = await api.get(`/matches/${me.id}/trades`);
      setTrades(res.data);
    } catch (err) {
      setError(err);
    }
  }, [me.id]);

  useEffect(() => {
    load();
  }, [load]);

  const list = trades || [];
  const people = useMany(list.flatMap((tr) => tr.users), getUser);
  const items = useMany(list.flatMap((tr) => tr.legs.map((l) => l.offer_item_id)), getItem);
  const key = (tr) => tr.match_ids.join('-');

  const propose = async (trade) => {
    setBusy(key(trade));
    setError(null);
    try {
      const res = await api.post('/exchanges/', { match_ids: trade.match_ids });
      setProposed((p) => ({ ...p, [key(trade)]: res.data.id }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  // undefined: still loading; null: gone or hidden.
  const who = (id) =>
    people[id] === undefined ? '…' : displayName(people[id], t, me.id) || t('common.user', { id });
  const itemTitle = (id) =>
    items[id] === undefined ? '…' : items[id]?.title || t('common.item', { id });

  return (
    <section>
      <h1>{t('trades.title')}</h1>
      <p className="lead">{t('trades.intro')}</p>
      <ErrorBox error={error} onRetry={load} />
      {trades === null && !error && <Loading />}
      {trades && trades.length === 0 && <p className="empty">{t('trades.empty')}</p>}
      <ul className="stack">
        {list.map((tr) => (
          <li key={key(tr)} className="card trade">
            <div className="card-top">
              <strong>{tr.kind === 'swap' ? t('trades.swap') : t('trades.cycle')}</strong>
              {tr.overlaps_with_other_trades && <span className="badge badge-muted">{t('trades.overlap')}</span>}
            </div>
            <ol className="legs">
              {tr.legs.map((leg) => (
                <li key={leg.match_id}>
                  <span className={leg.giver === me.id ? 'who me' : 'who'}>{who(leg.giver)}</span> {t('trades.gives')}{' '}
                  <Link to={`/items/${leg.offer_item_id}`}>
                    «{itemTitle(leg.offer_item_id)}»
                  </Link>{' '}
                  {t('trades.to')} <span className={leg.receiver === me.id ? 'who me' : 'who'}>{who(leg.receiver)}</span>
                </li>
              ))}
            </ol>
            <div className="match-foot">
              <ScoreBar score={tr.score} label={t('matches.score')} />
              <ProposeAction proposedId={proposed[key(tr)]} busy={busy === key(tr)} onPropose={() => propose(tr)} />
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
