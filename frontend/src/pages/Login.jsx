import { useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router-dom';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ErrorBox } from '../components/ui.jsx';
import { displayName } from '../data.js';
import { useI18n } from '../i18n.jsx';

// A code is single-use: never send the same one twice (React may run effects twice in dev).
const redeemed = new Set();
const BOT = import.meta.env.VITE_TELEGRAM_BOT_USERNAME || '';

function safeNext(next) {
  // Only paths of this site: never an open redirect to another origin.
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}

function TelegramButton({ onAuth }) {
  const box = useRef(null);
  useEffect(() => {
    if (!BOT || !box.current) return undefined;
    window.onTelegramAuth = onAuth;
    const s = document.createElement('script');
    s.src = 'https://telegram.org/js/telegram-widget.js?22';
    s.async = true;
    s.setAttribute('data-telegram-login', BOT);
    s.setAttribute('data-size', 'large');
    s.setAttribute('data-request-access', 'write');
    s.setAttribute('data-onauth', 'onTelegramAuth(user)');
    box.current.appendChild(s);
    const node = box.current;
    return () => {
      node.innerHTML = '';
      delete window.onTelegramAuth;
    };
  }, [onAuth]);
  return <div ref={box} className="tg-login" />;
}

export default function Login() {
  const { t, lang } = useI18n();
  // The language this page speaks becomes the account's when it has none yet (the server reads
  // it as Accept-Language): a choice made before signing in outranks the browser's list.
  const speak = { headers: { 'Accept-Language': lang } };
  const { me, setSession } = useAuth();
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const code = params.get('code') || '';
  const next = safeNext(params.get('next'));
  const [manual, setManual] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);

  const finish = (session) => {
    setSession(session.user);
    navigate(next, { replace: true });
  };

  const redeem = async (value) => {
    setBusy(true);
    setError(null);
    try {
      const res = await api.post('/auth/code', { code: value }, speak);
      finish(res.data);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  useEffect(() => {
    if (!code || redeemed.has(code)) return;
    redeemed.add(code);
    // Take the code out of the address bar and history at once.
    window.history.replaceState(null, '', `/login${params.get('next') ? `?next=${encodeURIComponent(next)}` : ''}`);
    redeem(code);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [code]);

  const onTelegram = async (user) => {
    setBusy(true);
    setError(null);
    try {
      const res = await api.post('/auth/telegram', user, speak);
      finish(res.data);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  return (
    <section className="narrow">
      <div className="card form login">
        <h1>{t('login.title')}</h1>
        {me && !busy && (
          <p>
            {t('login.already', { name: displayName(me, () => '', null) })} <Link to="/">{t('login.home')}</Link>
          </p>
        )}
        {busy && (
          <p role="status" className="muted">
            {t('login.redeeming')}
          </p>
        )}
        {error && <ErrorBox error={error} />}
        <p className="lead">{t('login.intro')}</p>
        {!BOT && (
          // No bot on this server (the embedded default): links come from the command line.
          <p className="muted small">
            {t('login.local')} <code>{t('login.localCommand')}</code>
          </p>
        )}
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const v = manual.trim().replace(/^.*[?&]code=/, '').replace(/&.*$/, '');
            if (v.length >= 8) redeem(v);
          }}
        >
          <div className="field">
            <label htmlFor="login-code">{t('login.code')}</label>
            <input id="login-code" value={manual} onChange={(e) => setManual(e.target.value)} autoComplete="one-time-code" minLength={8} maxLength={2048} />
          </div>
          <button type="submit" className="btn btn-primary" disabled={busy || manual.trim().length < 8}>
            {t('login.submit')}
          </button>
        </form>
        {BOT && (
          <>
            <p className="muted">{t('login.telegram')}</p>
            <TelegramButton onAuth={onTelegram} />
          </>
        )}
      </div>
    </section>
  );
}
