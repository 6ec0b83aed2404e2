// Settings that the bot's /settings also changes: Telegram notifications, digest, quiet hours,
// time zone; and linking a Telegram account to an account made on the web or the CLI.
import { useState } from 'react';
import { api } from '../api.js';
import { useAuth } from '../auth.jsx';
import { ErrorBox, Field, Notice, SaveButton } from './ui.jsx';
import { useI18n } from '../i18n.jsx';
import { LIMITS } from '../validation.js';

// The bot command itself, the same in every language.
const startCommand = (link) => `/start ${link.start_payload}`;
const HOURS = Array.from({ length: 24 }, (_, h) => h);

function fromUser(me) {
  const quiet = me.quiet_start != null && me.quiet_end != null;
  return {
    notify_telegram: me.notify_telegram !== false,
    digest_enabled: me.digest_enabled !== false,
    quiet,
    quiet_start: quiet ? me.quiet_start : 22,
    quiet_end: quiet ? me.quiet_end : 8,
    time_zone: me.time_zone || '',
  };
}

export function NotificationSettings() {
  const { t, error: errorText } = useI18n();
  const { me, setMe } = useAuth();
  const [values, setValues] = useState(() => fromUser(me));
  const [error, setError] = useState(null);
  const [saved, setSaved] = useState(false);
  const [saving, setSaving] = useState(false);

  const change = (k, v) => {
    setSaved(false);
    setValues((old) => ({ ...old, [k]: v }));
  };
  const hourLabel = (h) => t('settings.hour', { hour: String(h).padStart(2, '0') });

  const submit = async (e) => {
    e.preventDefault();
    setSaved(false);
    setError(null);
    setSaving(true);
    try {
      const res = await api.patch(`/users/${me.id}`, {
        notify_telegram: values.notify_telegram,
        digest_enabled: values.digest_enabled,
        quiet_start: values.quiet ? Number(values.quiet_start) : null,
        quiet_end: values.quiet ? Number(values.quiet_end) : null,
        time_zone: values.time_zone.trim() || null,
      });
      setMe(res.data);
      setValues(fromUser(res.data));
      setSaved(true);
    } catch (err) {
      setError(err);
    } finally {
      setSaving(false);
    }
  };

  const zoneError = error?.response?.data?.code === 'bad_time_zone' ? errorText(error) : '';
  return (
    <form className="card form settings-card" onSubmit={submit} noValidate aria-labelledby="notify-title">
      <h2 id="notify-title">{t('settings.title')}</h2>
      <p className="muted small">{t('settings.intro')}</p>
      <label className="check">
        <input type="checkbox" checked={values.notify_telegram} onChange={(e) => change('notify_telegram', e.target.checked)} />
        {t('settings.notify')}
      </label>
      <label className="check">
        <input type="checkbox" checked={values.digest_enabled} onChange={(e) => change('digest_enabled', e.target.checked)} />
        {t('settings.digest')}
      </label>
      <label className="check">
        <input type="checkbox" checked={values.quiet} onChange={(e) => change('quiet', e.target.checked)} />
        {t('settings.quiet')}
      </label>
      {values.quiet && (
        <div className="hours">
          {[
            ['quiet_start', 'settings.quietFrom'],
            ['quiet_end', 'settings.quietTo'],
          ].map(([name, label]) => (
            <Field key={name} label={t(label)}>
              {(id, d) => (
                <select id={id} value={values[name]} onChange={(e) => change(name, Number(e.target.value))} aria-describedby={d}>
                  {HOURS.map((h) => (
                    <option key={h} value={h}>
                      {hourLabel(h)}
                    </option>
                  ))}
                </select>
              )}
            </Field>
          ))}
        </div>
      )}
      <Field label={t('settings.zone')} hint={t('settings.zoneHint')} error={zoneError}>
        {(id, d, bad) => (
          <input id={id} value={values.time_zone} onChange={(e) => change('time_zone', e.target.value)} aria-describedby={d} aria-invalid={bad} maxLength={LIMITS.timeZoneMax} />
        )}
      </Field>
      {!zoneError && <ErrorBox error={error} />}
      {saved && <Notice>{t('profile.saved')}</Notice>}
      <SaveButton saving={saving} label={t('settings.save')} />
    </form>
  );
}

export function TelegramLink() {
  const { t, date } = useI18n();
  const { me } = useAuth();
  const [link, setLink] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);

  const issue = async () => {
    setError(null);
    setBusy(true);
    try {
      const res = await api.post('/users/me/telegram-link');
      setLink(res.data);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card settings-card" aria-labelledby="telegram-title">
      <h2 id="telegram-title">{t('telegram.title')}</h2>
      {me.telegram_id ? (
        <p>{t('telegram.linked')}</p>
      ) : (
        <>
          <p className="muted small">{t('telegram.intro')}</p>
          {link ? (
            <div role="status">
              {link.url ? (
                <p>
                  <a className="btn btn-primary" href={link.url} target="_blank" rel="noreferrer">
                    {t('telegram.open')}
                  </a>
                </p>
              ) : null}
              <p>
                {t('telegram.send')} <code>{startCommand(link)}</code>
              </p>
              <p className="muted small">{t('telegram.expires', { time: date(link.expires_at, { timeStyle: 'short' }) })}</p>
            </div>
          ) : (
            <button type="button" className="btn" onClick={issue} disabled={busy}>
              {t('telegram.connect')}
            </button>
          )}
          <ErrorBox error={error} />
        </>
      )}
    </section>
  );
}
