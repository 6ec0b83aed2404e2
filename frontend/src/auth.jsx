// Who is signed in: loaded once from /api/users/me, cleared on any 401.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { Navigate, useLocation } from 'react-router-dom';
import { api, currentSessionEpoch, newSessionEpoch, setUnauthorizedHandler } from './api.js';
import { forgetCaches } from './data.js';
import { forgetMiniAppData, miniAppInitData } from './telegram.js';

const AuthContext = createContext(null);

export function AuthProvider({ children }) {
  const [me, setMe] = useState(null);
  const [loading, setLoading] = useState(true);

  const refresh = useCallback(async () => {
    const epoch = currentSessionEpoch();
    let user = null;
    try {
      user = (await api.get('/users/me')).data;
    } catch {
      user = null;
    }
    // Opened from the bot as a Mini App: sign in with Telegram's signed launch data.
    const initData = miniAppInitData(window.location.hash);
    if (initData) {
      forgetMiniAppData();
      if (!user) {
        try {
          user = (await api.post('/auth/webapp', { init_data: initData })).data.user;
        } catch {
          user = null; // expired or forged: the sign-in page offers the other ways
        }
      }
    }
    // Signed in or out meanwhile: that newer state wins over this answer.
    if (epoch === currentSessionEpoch()) setMe(user);
    setLoading(false);
    return user;
  }, []);

  /** Start a new session's state (after sign-in) or end it (null). */
  const setSession = useCallback((user) => {
    newSessionEpoch();
    forgetCaches();
    setMe(user);
    setLoading(false);
  }, []);

  useEffect(() => {
    setUnauthorizedHandler(() => setMe(null));
    refresh();
    return () => setUnauthorizedHandler(null);
  }, [refresh]);

  const signOut = useCallback(async () => {
    try {
      await api.post('/auth/logout');
    } catch {
      /* the session may already be gone */
    }
    setSession(null);
  }, [setSession]);

  const value = useMemo(
    () => ({ me, setMe, setSession, loading, refresh, signOut }),
    [me, loading, refresh, signOut, setSession],
  );
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth() {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** Render children only when signed in; otherwise go to the sign-in page and come back. */
export function RequireAuth({ children }) {
  const { me, loading } = useAuth();
  const location = useLocation();
  if (loading) return <p className="muted" role="status">…</p>;
  if (!me) {
    const next = location.pathname + location.search;
    return <Navigate to={`/login?next=${encodeURIComponent(next)}`} replace />;
  }
  return children;
}
