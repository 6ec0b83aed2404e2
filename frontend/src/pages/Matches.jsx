import { Link } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { Chips, ErrorBox, KindBadge, Loading, PersonLink, ProposeButton, ScoreBar, Thumb } from '../components/ui.jsx';
import { categoryName, getUser, useAction, useCategories, useFetched, useMany } from '../data.js';
import { useI18n } from '../i18n.jsx';

function ItemLine({ label, item, owner, categories }) {
  const { t, lang } = useI18n();
  return (
    <div className="match-side">
      <Thumb item={item} className="thumb thumb-small" />
      <div>
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
          {owner && <> · {owner}</>}
        </div>
      </div>
    </div>
  );
}

export default function Matches() {
  const { t } = useI18n();
  const { me } = useAuth();
  const categories = useCategories();
  const { data: matches, setData: setMatches, error, setError, load } = useFetched(`/matches/${me.id}`);
  const [, run] = useAction(setError);

  const otherIds = (matches || []).map((m) =>
    m.want_item.user_id === me.id ? m.offer_item.user_id : m.want_item.user_id,
  );
  const people = useMany(otherIds, getUser);

  const dismiss = (match) =>
    run(match.id, async () => {
      await api.post(`/matches/${match.id}/dismiss`);
      setMatches((list) => list.filter((m) => m.id !== match.id));
    });

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
          const other = <PersonLink user={people[otherId]} fallbackId={otherId} meId={me.id} />;
          const terms = m.explanation?.shared_terms || [];
          const texts = [m.want_item, m.offer_item].flatMap((i) => [i.title, i.description]);
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
                    <Chips terms={terms} texts={texts} label={t('matches.why')} />
                  </div>
                )}
                <div className="match-actions">
                  <ProposeButton matchIds={[m.id]} />
                  <button type="button" className="btn-link" onClick={() => dismiss(m)}>
                    {t('matches.dismiss')}
                  </button>
                </div>
              </div>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
