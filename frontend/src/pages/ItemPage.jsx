import { useCallback, useEffect, useState } from 'react';
import { Link, useLocation, useParams } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ReportButton } from '../components/ReportForm.jsx';
import { ErrorBox, KindBadge, Loading, Notice, PersonLink, ProposeButton, ScoreBar, Thumb } from '../components/ui.jsx';
import { categoryName, formatDate, getUser, useCategories } from '../data.js';
import { useI18n } from '../i18n.jsx';

// A new listing is matched within seconds by the worker: look often at first, then calmly.
const FAST_POLL_MS = 2_000;
const SLOW_POLL_MS = 20_000;
const FAST_POLLS = 60;

/** The signed-in person's matches that involve `itemId`, refreshed while the page is open. */
function useItemMatches(me, itemId, enabled) {
  const [found, setFound] = useState(null);
  useEffect(() => {
    if (!enabled || !me) return undefined;
    let alive = true;
    let polls = 0;
    let timer = null;
    const load = async () => {
      try {
        const res = await api.get(`/matches/${me.id}`);
        if (!alive) return;
        const mine = res.data.filter((m) => m.want_item.id === itemId || m.offer_item.id === itemId);
        setFound(mine);
      } catch {
        /* try again on the next tick */
      }
      polls += 1;
      if (alive) timer = window.setTimeout(load, polls < FAST_POLLS ? FAST_POLL_MS : SLOW_POLL_MS);
    };
    load();
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [me, itemId, enabled]);
  return found;
}

function Gallery({ item }) {
  const { t } = useI18n();
  const [shown, setShown] = useState(0);
  const list = item.photos || [];
  if (list.length === 0) return null;
  const photo = list[Math.min(shown, list.length - 1)];
  return (
    <figure className="gallery">
      <img
        className="gallery-main"
        src={photo.url}
        width={photo.width}
        height={photo.height}
        alt={t('item.photoAlt', { title: item.title, n: shown + 1, total: list.length })}
      />
      {list.length > 1 && (
        <ul className="gallery-thumbs" aria-label={t('item.photos')}>
          {list.map((p, i) => (
            <li key={p.id}>
              <button type="button" aria-pressed={i === shown} onClick={() => setShown(i)}>
                <img src={p.thumb_url} alt={t('item.photoAlt', { title: item.title, n: i + 1, total: list.length })} />
              </button>
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

function MatchRow({ match, item, me }) {
  const { t } = useI18n();
  const other = match.want_item.id === item.id ? match.offer_item : match.want_item;
  const [owner, setOwner] = useState(undefined);
  useEffect(() => {
    getUser(other.user_id).then(setOwner, () => setOwner(null));
  }, [other.user_id]);
  return (
    <li className="card match-row" data-match-id={match.id}>
      <Thumb item={other} className="thumb thumb-small" />
      <div className="match-row-body">
        <KindBadge kind={other.kind} /> <Link to={`/items/${other.id}`}>{other.title}</Link>{' '}
        <PersonLink user={owner} fallbackId={other.user_id} meId={me.id} />
        <ScoreBar score={match.score} label={t('matches.score')} />
        <ProposeButton matchIds={[match.id]} />
      </div>
    </li>
  );
}

export default function ItemPage() {
  const { id } = useParams();
  const itemId = Number(id);
  const location = useLocation();
  const { t, lang, number } = useI18n();
  const { me } = useAuth();
  const categories = useCategories();
  const [item, setItem] = useState(null);
  const [owner, setOwner] = useState(undefined);
  const [error, setError] = useState(null);
  const posted = new URLSearchParams(location.search).get('posted') === '1';
  const photoErrors = location.state?.photoErrors || [];

  const load = useCallback(() => {
    let alive = true;
    setItem(null);
    setError(null);
    api
      .get(`/items/${encodeURIComponent(id)}`)
      .then(async (res) => {
        if (!alive) return;
        setItem(res.data);
        const u = await getUser(res.data.user_id).catch(() => null);
        if (alive) setOwner(u);
      })
      .catch((err) => alive && setError(err));
    return () => {
      alive = false;
    };
  }, [id]);
  useEffect(load, [load]);

  const mine = Boolean(me && item && me.id === item.user_id);
  const matches = useItemMatches(me, itemId, Boolean(item && item.active));

  if (error) return <ErrorBox error={error} />;
  if (!item) return <Loading />;
  const fits = !mine && matches ? matches : [];

  return (
    <article className="card item-page" data-item-id={item.id}>
      <p>
        <Link to="/">{t('item.back')}</Link>
      </p>
      {posted && <Notice>{t('item.posted.notice')}</Notice>}
      {photoErrors.map((text) => (
        <p key={text} className="alert alert-error" role="alert">
          {text}
        </p>
      ))}
      <div className="card-top">
        <KindBadge kind={item.kind} />
        <span className="muted">{categoryName(categories, item.category, lang)}</span>
        {item.exchange_id ? (
          <Link className="badge badge-exchanged" to="/exchanges">
            {t('item.exchanged', { id: item.exchange_id })}
          </Link>
        ) : (
          !item.active && <span className="badge badge-muted">{t('item.inactive')}</span>
        )}
      </div>
      <h1>{item.title}</h1>
      <Gallery item={item} />
      <p className="description">{item.description || <span className="muted">{t('item.noDescription')}</span>}</p>
      <dl className="facts">
        {item.city && (
          <>
            <dt>{t('item.city')}</dt>
            <dd>{item.city}</dd>
          </>
        )}
        <dt>{t('item.delivery')}</dt>
        <dd>{item.delivery ? '✓' : '—'}</dd>
        <dt>{t('item.posted')}</dt>
        <dd>{formatDate(item.created_at, lang)}</dd>
        {owner && (
          <>
            <dt>{t('item.owner')}</dt>
            <dd>
              <PersonLink user={owner} meId={me?.id} />{' '}
              <span className="muted small">
                {owner.trust_score != null
                  ? t('item.trust', {
                      score: number(owner.trust_score, { maximumFractionDigits: 1, minimumFractionDigits: 1 }),
                      n: owner.rating_count,
                    })
                  : t('item.noTrust')}
              </span>
            </dd>
          </>
        )}
      </dl>
      {mine && (
        <div className="card-actions">
          <span className="muted">{t('item.yours')}</span>
          {item.active && (
            <Link className="btn" to={`/items/${item.id}/edit`}>
              {t('item.edit')}
            </Link>
          )}
        </div>
      )}
      {!mine && item.active && (
        <section className="propose-box" aria-labelledby="propose-title">
          <h2 id="propose-title" className="sr-only">
            {t('matches.propose')}
          </h2>
          {!me && (
            <Link className="btn btn-primary" to={`/login?next=${encodeURIComponent(`/items/${item.id}`)}`}>
              {t('item.proposeSignIn')}
            </Link>
          )}
          {me && matches === null && <Loading />}
          {me && matches !== null && fits.length === 0 && <p className="muted">{t('item.proposeNeedWant')}</p>}
          {fits.length > 0 && (
            <ul className="stack">
              {fits.map((m) => {
                const own = m.want_item.id === item.id ? m.offer_item : m.want_item;
                return (
                  <li key={m.id} className="fit" data-match-id={m.id}>
                    <p>{t('item.proposeFits', { title: own.title })}</p>
                    <ProposeButton matchIds={[m.id]} />
                  </li>
                );
              })}
            </ul>
          )}
        </section>
      )}
      {mine && item.active && (
        <section className="item-matches" aria-labelledby="item-matches-title">
          <h2 id="item-matches-title">{t('item.matches')}</h2>
          {matches === null && <Loading />}
          {matches !== null && matches.length === 0 && (
            <p className="muted" role="status">
              {posted ? t('item.matchesWaiting') : t('item.matchesNone')}
            </p>
          )}
          <ul className="stack" data-testid="item-matches" aria-live="polite">
            {(matches || []).map((m) => (
              <MatchRow key={m.id} match={m} item={item} me={me} />
            ))}
          </ul>
        </section>
      )}
      {me && !mine && (
        <ReportButton target={{ item_id: item.id }} title={t('report.titleItem')} />
      )}
    </article>
  );
}

