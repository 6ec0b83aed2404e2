import { useCallback, useEffect, useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { useI18n } from '../i18n.jsx';

const POLL_MS = 15_000;
export const INBOX_CHANGED = 'fm:inbox-changed';

/** Unread notifications of the signed-in person, polled and refreshed on every page change. */
function useUnread(me, pathname) {
  const [count, setCount] = useState(0);
  const refresh = useCallback(async () => {
    if (!me) return;
    try {
      const res = await api.get('/notifications', { params: { limit: 100 } });
      setCount(res.data.filter((n) => !n.read_at).length);
    } catch {
      /* the badge waits for the next poll */
    }
  }, [me]);
  useEffect(() => {
    if (!me) {
      setCount(0);
      return undefined;
    }
    refresh();
    const timer = window.setInterval(() => {
      if (document.visibilityState !== 'hidden') refresh();
    }, POLL_MS);
    window.addEventListener(INBOX_CHANGED, refresh);
    window.addEventListener('focus', refresh);
    return () => {
      window.clearInterval(timer);
      window.removeEventListener(INBOX_CHANGED, refresh);
      window.removeEventListener('focus', refresh);
    };
  }, [me, refresh, pathname]);
  return count;
}

const PRIVATE_LINKS = [
  ['/my-items', 'nav.myItems'],
  ['/matches', 'nav.matches'],
  ['/trades', 'nav.trades'],
  ['/exchanges', 'nav.exchanges'],
  ['/inbox', 'nav.inbox'],
  ['/profile', 'nav.profile'],
];

export default function Layout() {
  const { me, signOut } = useAuth();
  const { t, lang, setLang } = useI18n();
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();
  const location = useLocation();

  const close = () => setOpen(false);
  const onSignOut = async () => {
    close();
    await signOut();
    navigate('/');
  };
  const unread = useUnread(me, location.pathname);
  const loginTarget = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        {t('nav.skip')}
      </a>
      <header className={open ? 'topbar open' : 'topbar'}>
        <div className="topbar-row">
          <Link to="/" className="brand" onClick={close}>
            <span className="brand-mark" aria-hidden="true">⇄</span>
            <span>{t('app.name')}</span>
          </Link>
          <button
            type="button"
            className="menu-toggle"
            aria-expanded={open}
            aria-controls="main-nav account-bar"
            onClick={() => setOpen((o) => !o)}
          >
            {t('nav.menu')}
          </button>
          <div id="account-bar" className="account">
            {me && (
              <Link to="/post" className="btn btn-primary btn-small" onClick={close}>
                + {t('nav.post')}
              </Link>
            )}
            <button
              type="button"
              className="lang-toggle"
              onClick={() => setLang(lang === 'ru' ? 'en' : 'ru')}
              title={t('lang.switch')}
            >
              <span aria-hidden="true">{t('lang.other')}</span>
              <span className="sr-only" lang={lang === 'ru' ? 'en' : 'ru'}>
                {t('lang.switch')}
              </span>
            </button>
            {me ? (
              <>
                <Link to="/profile" className="account-name" onClick={close}>
                  @{me.username}
                </Link>
                <button type="button" className="btn-link" onClick={onSignOut}>
                  {t('nav.signOut')}
                </button>
              </>
            ) : (
              <Link to={loginTarget} className="btn btn-small" onClick={close}>
                {t('nav.signIn')}
              </Link>
            )}
          </div>
        </div>
        <nav id="main-nav" aria-label={t('nav.main')} className="nav">
          <NavLink to="/" end onClick={close}>
            {t('nav.browse')}
          </NavLink>
          {me &&
            PRIVATE_LINKS.map(([to, key]) => (
              <NavLink key={to} to={to} onClick={close}>
                {t(key)}
                {to === '/inbox' && unread > 0 && (
                  <span className="badge badge-count" data-testid="unread-badge" aria-label={t('nav.unread', { n: unread })}>
                    {unread}
                  </span>
                )}
              </NavLink>
            ))}
        </nav>
      </header>
      <main id="main" className="content">
        <Outlet />
      </main>
      <footer className="footer">
        <span>{t('app.footer')}</span>
      </footer>
    </div>
  );
}
