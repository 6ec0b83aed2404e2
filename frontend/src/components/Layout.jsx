import { useState } from 'react';
import { Link, NavLink, Outlet, useLocation, useNavigate } from 'react-router-dom';
import { useAuth } from '../auth.jsx';
import { useI18n } from '../i18n.jsx';

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
  const loginTarget = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;

  return (
    <div className="app">
      <a className="skip-link" href="#main">
        {lang === 'en' ? 'Skip to content' : 'К содержимому'}
      </a>
      <header className={open ? 'topbar open' : 'topbar'}>
        <div className="topbar-row">
          <Link to="/" className="brand" onClick={close}>
            <span className="brand-mark" aria-hidden="true">⇄</span>
            <span>FreeMarket</span>
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
              aria-label={t('lang.switch')}
              title={t('lang.switch')}
            >
              {t('lang.other')}
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
              </NavLink>
            ))}
        </nav>
      </header>
      <main id="main" className="content">
        <Outlet />
      </main>
      <footer className="footer">
        <span>FreeMarket — {t('app.tagline')}</span>
      </footer>
    </div>
  );
}
