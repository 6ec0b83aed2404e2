// Client-side checks with the API's own limits: limits.json is written from the request bodies
// by `python -m freemarket.api.limits` (`make frontend`), and a backend test fails when stale.
import GENERATED from './limits.json';

const { item, user, rating } = GENERATED;

export const LIMITS = {
  titleMin: item.title.minLength,
  titleMax: item.title.maxLength,
  descriptionMax: item.description.maxLength,
  cityMax: item.city.maxLength,
  contactMax: user.contact.maxLength,
  displayNameMax: user.display_name.maxLength,
  timeZoneMax: user.time_zone.maxLength,
  commentMax: rating.comment.maxLength,
  scoreMin: rating.score.minimum,
  scoreMax: rating.score.maximum,
};

const KINDS = item.kind.enum;
const CATEGORIES = item.category.enum;

/** Errors of an item form as {field: messageKey or [messageKey, param]}; empty when valid. */
export function validateItem(values, { creating = true } = {}) {
  const errors = {};
  const title = (values.title || '').trim();
  if (creating && !KINDS.includes(values.kind)) errors.kind = 'v.kind';
  if (!CATEGORIES.includes(values.category)) errors.category = 'v.category';
  if (title.length < LIMITS.titleMin) errors.title = ['v.tooShort', LIMITS.titleMin];
  else if (title.length > LIMITS.titleMax) errors.title = ['v.tooLong', LIMITS.titleMax];
  if ((values.description || '').length > LIMITS.descriptionMax) {
    errors.description = ['v.tooLong', LIMITS.descriptionMax];
  }
  if ((values.city || '').trim().length > LIMITS.cityMax) errors.city = ['v.tooLong', LIMITS.cityMax];
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'string' && v.includes('\u0000')) errors[k] = 'v.nul';
  }
  return errors;
}

/** The JSON body for POST /api/items/ (or PATCH, without kind) from form values. */
export function itemBody(values, { creating = true } = {}) {
  const city = (values.city || '').trim();
  const body = {
    category: values.category,
    title: (values.title || '').trim(),
    description: values.description || '',
    city: city || null,
    delivery: Boolean(values.delivery),
  };
  if (creating) body.kind = values.kind;
  return body;
}

export function validateProfile(values) {
  const errors = {};
  if ((values.display_name || '').length > LIMITS.displayNameMax) {
    errors.display_name = ['v.tooLong', LIMITS.displayNameMax];
  }
  if ((values.contact || '').length > LIMITS.contactMax) errors.contact = ['v.tooLong', LIMITS.contactMax];
  if ((values.city || '').trim().length > LIMITS.cityMax) errors.city = ['v.tooLong', LIMITS.cityMax];
  return errors;
}

export function validateRating(values) {
  const errors = {};
  const score = Number(values.score);
  if (!Number.isInteger(score) || score < LIMITS.scoreMin || score > LIMITS.scoreMax) errors.score = 'v.stars';
  if ((values.comment || '').length > LIMITS.commentMax) errors.comment = ['v.tooLong', LIMITS.commentMax];
  return errors;
}
