// Interface language and messages: ICU catalogs (locales/*.json) formatted by FormatJS (react-intl),
// which handles plural rules (Russian one/few/many), select, numbers and dates per locale.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from 'react';
import { IntlProvider, createIntl, createIntlCache, useIntl } from 'react-intl';
import { api, errorMessage, fieldErrors } from './api.js';
import { useAuth } from './auth.jsx';
import en from './locales/en.json';
import ru from './locales/ru.json';

export const STORAGE_KEY = 'fm_lang';
export const MESSAGES = { ru, en };
export const LANGS = Object.keys(MESSAGES);
export const DEFAULT_LANG = 'ru';

/** The first supported language among the browser's preferences ("en-GB" counts as "en"). */
export function browserLanguage(preferences) {
  for (const tag of preferences || []) {
    const base = String(tag || '').toLowerCase().split('-')[0];
    if (LANGS.includes(base)) return base;
  }
  return null;
}

/** The signed-in person's saved language, then this browser's choice, then its languages, then Russian. */
export function pickLanguage({ saved, stored, preferences }) {
  if (LANGS.includes(saved)) return saved;
  if (LANGS.includes(stored)) return stored;
  return browserLanguage(preferences) || DEFAULT_LANG;
}

function storedLanguage() {
  try {
    return window.localStorage.getItem(STORAGE_KEY);
  } catch {
    return null; // storage disabled
  }
}

function rememberLanguage(lang) {
  try {
    window.localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    /* storage disabled */
  }
}

const cache = createIntlCache();

/** `t(key, params)` for one language outside React (tests, plain modules). */
export function translator(lang) {
  const intl = createIntl({ locale: lang, messages: MESSAGES[lang], defaultLocale: DEFAULT_LANG }, cache);
  const t = (key, params) => intl.formatMessage({ id: key }, params);
  t.has = (key) => Boolean(intl.messages[key]);
  return t;
}

const LangContext = createContext(null);

function Helpers({ lang, setLang, children }) {
  const intl = useIntl();
  const value = useMemo(() => {
    const t = (key, params) => intl.formatMessage({ id: key }, params);
    return {
      lang,
      setLang,
      t,
      /** A validation error (a key, or [key, n]) as text. */
      te: (err) => {
        if (!err) return '';
        if (Array.isArray(err)) return t(err[0], { n: err[1] });
        return intl.messages[err] ? t(err) : String(err);
      },
      has: (key) => Boolean(intl.messages[key]),
      /** Any failed request as one sentence in this language. */
      error: (err) => errorMessage(err, t, (key) => Boolean(intl.messages[key])),
      fieldErrors: (err) => fieldErrors(err, t),
      number: (value, options) => intl.formatNumber(value, options),
      date: (value, options) => intl.formatDate(value, options),
    };
  }, [intl, lang, setLang]);
  return <LangContext.Provider value={value}>{children}</LangContext.Provider>;
}

export function LangProvider({ children }) {
  const { me, setMe } = useAuth();
  const [chosen, setChosen] = useState(storedLanguage);
  const preferences = typeof navigator === 'undefined' ? [] : navigator.languages || [navigator.language];
  const lang = pickLanguage({ saved: me?.language, stored: chosen, preferences });

  const setLang = useCallback(
    async (next) => {
      setChosen(next);
      rememberLanguage(next);
      if (me && me.language !== next) {
        // The saved setting is shared with the bot: change it where both read it.
        setMe({ ...me, language: next });
        try {
          const res = await api.patch(`/users/${me.id}`, { language: next });
          setMe(res.data);
        } catch {
          /* kept locally; the profile page shows errors when saving */
        }
      }
    },
    [me, setMe],
  );

  useEffect(() => {
    document.documentElement.lang = lang;
  }, [lang]);

  return (
    <IntlProvider locale={lang} messages={MESSAGES[lang]} defaultLocale={DEFAULT_LANG}>
      <Helpers lang={lang} setLang={setLang}>
        {children}
      </Helpers>
    </IntlProvider>
  );
}

export function useI18n() {
  const ctx = useContext(LangContext);
  if (!ctx) throw new Error('useI18n outside LangProvider');
  return ctx;
}
