import { useCallback, useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { Chips, ErrorBox, KindBadge, Loading, ProposeAction, ScoreBar } from '../components/ui.jsx';
import { categoryName, displayName, getUser, noteTitles, useCategories, useMany } from '../data.js';
import { useI18n } from '../i18n.jsx';

function ItemLine({ label, item, owner, categories }) {
  const { t, lang } = useI18n();
  return (
    <div className="match-side">
      <div className="match-side-label">
        <KindBadge kind={item.kind} /> <span className="muted small">{label}</span>
      </div>
      <Link to={`/items/${item.id}`} className="match-title">
        {item.title}
      </Link>
      <div className="muted small">
        {categoryName(categories, item.category, lang)}
        {item.city ? ` · ${item.city}` : ''}
        {item.delivery ? ` · ${t('item.delivery')}` : ''}
        {owner ? ` · ${owner}` : ''}
      </div>
    </div>
  );
}

export default function Matches() {
  const { t } = useI18n();
  const { me } = useAuth();
  const categories = useCategories();
  const [matches, setMatches] = useState(null);
  const [error, setError] = useState(null);
  const [proposed, setProposed] = useState({});
  const [busy, setBusy] = useState(null);

  const load = useCallback(async () => {
    setError(null);
    try {
      const res = await api.get(`/matches/${me.id}`);
      setMatches(res.data);
      noteTitles(res.data.flatMap((m) => [m.want_item, m.offer_item]));
    } catch (err) {
      setError(err);
    }
  }, [me.id]);

  useEffect(() => {
    load();
  }, [load]);

  const otherIds = (matches || []).map((m) =>
    m.want_item.user_id === me.id ? m.offer_item.user_id : m.want_item.user_id,
  );
  const people = useMany(otherIds, getUser);

  const propose = async (match) => {
    setBusy(match.id);
    setError(null);
    try {
      const res = await api.post('/exchanges/', { match_ids: [match.id] });
      setProposed((p) => ({ ...p, [match.id]: res.data.id }));
    } catch (err) {
      setError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <section>
      <h1>{t('matches.title')}</h1>
      <p className="lead">{t('matches.intro')}</p>
      <ErrorBox error={error} onRetry={load} />
      {matches === null && !error && <Loading />}
      {matches && matches.length === 0 && <p className="empty">{t('matches.empty')}</p>}
      <ul className="stack" data-testid="match-list">
        {(matches || []).map((m) => {
          const iWant = m.want_item.user_id === me.id;
          const otherId = iWant ? m.offer_item.user_id : m.want_item.user_id;
          const other = displayName(people[otherId], t, me.id);
          const terms = m.explanation?.shared_terms || [];
          return (
            <li key={m.id} className="card match" data-match-id={m.id}>
              <div className="match-pair">
                {iWant ? (
                  <>
                    <ItemLine label={t('matches.youWant')} item={m.want_item} categories={categories} />
                    <span className="match-arrow" aria-hidden="true">⇄</span>
                    <ItemLine label={t('matches.theyOffer')} item={m.offer_item} owner={other} categories={categories} />
                  </>
                ) : (
                  <>
                    <ItemLine label={t('matches.youOffer')} item={m.offer_item} categories={categories} />
                    <span className="match-arrow" aria-hidden="true">⇄</span>
                    <ItemLine label={t('matches.theyWant')} item={m.want_item} owner={other} categories={categories} />
                  </>
                )}
              </div>
              <div className="match-foot">
                <ScoreBar score={m.score} label={t('matches.score')} />
                {terms.length > 0 && (
                  <div className="match-why">
                    <span className="muted small">{t('matches.why')}:</span>
                    <Chips terms={terms} label={t('matches.why')} />
                  </div>
                )}
                <ProposeAction proposedId={proposed[m.id]} busy={busy === m.id} onPropose={() => propose(m)} />
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
