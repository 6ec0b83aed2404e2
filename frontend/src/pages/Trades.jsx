import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import Leg from '../components/Leg.jsx';
import { ErrorBox, Loading, ProposeButton, ScoreBar } from '../components/ui.jsx';
import { displayName, getItem, getUser, useMany } from '../data.js';
import { useI18n } from '../i18n.jsx';

export default function Trades() {
  const { t } = useI18n();
  const { me } = useAuth();
  const [trades, setTrades] = useState(null);
  const [error, setError] = useState(null);

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
                  <Leg
                    giverId={leg.giver}
                    receiverId={leg.receiver}
                    itemId={leg.offer_item_id}
                    title={itemTitle(leg.offer_item_id)}
                    name={who}
                    meId={me.id}
                  />
                </li>
              ))}
            </ol>
            <div className="match-foot">
              <ScoreBar score={tr.score} label={t('matches.score')} />
              <ProposeButton matchIds={tr.match_ids} />
            </div>
          </li>
        ))}
      </ul>
    </section>
  );
}
