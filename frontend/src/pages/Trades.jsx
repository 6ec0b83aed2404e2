import { useAuth } from '../auth.jsx';
import Leg from '../components/Leg.jsx';
import { ErrorBox, Loading, ProposeButton, ScoreBar } from '../components/ui.jsx';
import { getItem, getUser, namers, useFetched, useMany } from '../data.js';
import { useI18n } from '../i18n.jsx';

export default function Trades() {
  const { t } = useI18n();
  const { me } = useAuth();
  const { data: trades, error, load } = useFetched(`/matches/${me.id}/trades`);

  const list = trades || [];
  const people = useMany(list.flatMap((tr) => tr.users), getUser);
  const items = useMany(list.flatMap((tr) => tr.legs.map((l) => l.offer_item_id)), getItem);
  const key = (tr) => tr.match_ids.join('-');

  const { who, itemTitle } = namers(people, items, t, me.id);

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
