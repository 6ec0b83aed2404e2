## FreeMarket bot, English. Variables are plain strings unless a plural selects on them.

-brand = FreeMarket

## Commands (setMyCommands)
cmd-start = Start and sign up
cmd-help = What the bot can do
cmd-offer = Post something you offer
cmd-want = Post something you want
cmd-my = Your items
cmd-matches = Your best matches
cmd-trades = Swaps and 3-way trades
cmd-exchanges = Your exchanges
cmd-login = Sign in to the website
cmd-settings = Notifications and quiet hours
cmd-lang = Language: Русский / English
cmd-cancel = Stop the current dialogue

## Start and help
welcome = Hello, { $name }! { -brand } is a barter marketplace: post what you offer and what you want, and we find people to swap with.
linked = Done, { $name }: this Telegram account is now linked to your { -brand } account. Notifications come here, and /login signs you in to the website.
link-hint = Already have a { -brand } account on the website? There, open Profile → Telegram → Link Telegram, and this chat becomes that account.
help =
    What I can do:
    /offer — post something you offer
    /want — post something you want
    /my — your items
    /matches — your best matches
    /trades — swaps and 3-way trades
    /exchanges — your exchanges
    /login — sign in to the website
    /settings — notifications, quiet hours, digest
    /lang — Русский / English
    /cancel — stop the current dialogue
fallback = I only understand commands. Type /help to see them, or /offer and /want to post.
lang-choose = Choose your language:
lang-set = Done: I will speak English with you.
cancelled = Cancelled. Nothing was saved.
nothing-to-cancel = There is nothing to cancel.
error-generic = Something went wrong; nothing was changed. Please try again.
error-not-found = This no longer exists or is not yours to see.
error-conflict = That cannot be done right now: { $detail }
error-forbidden = You may not do that.
error-invalid = That did not work: { $detail }
error-rate-limited = Too many requests; try again in a minute.

## Posting an item
ask-title-offer = What do you offer? Send a short title (2–200 characters).
ask-title-want = What do you want? Send a short title (2–200 characters).
bad-title = A title is 2 to 200 characters of text. Try again, or /cancel.
ask-category = Choose a category:
bad-category = Please pick a category with the buttons below, or /cancel.
ask-description = Describe it (condition, size, anything useful), or press “Skip”.
bad-description = A description is at most 5000 characters. Try again, or press “Skip”.
ask-city = Which city is it in?
ask-city-known = Which city is it in? Press the button for { $city } or type another.
bad-city = A city name is 1 to 100 characters. Try again, or /cancel.
ask-delivery = Can you send it to another city?
confirm-item =
    Check and confirm:
    { $kind ->
        [offer] Offer
       *[want] Want
    }: { $title }
    Category: { $category }
    Description: { $description }
    City: { $city }
confirm-delivery = Delivery to other cities: { $delivery ->
        [yes] yes
       *[no] no
    }
item-posted = Posted: { $title } ({ $link }). I will tell you when I find a match.
no-description = —
use-buttons = Please use the buttons above, or /cancel.

## Buttons
btn-skip = Skip
btn-yes = Yes
btn-no = No
btn-post = Post
btn-cancel = Cancel
btn-keep-city = { $city }
btn-prev = ◀ Back
btn-next = Next ▶
btn-deactivate = Hide #{ $id }
btn-reactivate = Show #{ $id }
btn-edit = Edit #{ $id }
btn-edit-title = New title
btn-edit-description = New description
btn-see-match = See the match
btn-propose = Propose exchange
btn-propose-n = Propose #{ $n }
btn-not-interested = Not interested
btn-accept = Accept
btn-decline = Decline
btn-complete = We exchanged
btn-cancel-exchange = Cancel exchange
btn-rate = Rate { $name }
btn-open-site = Open { -brand }
btn-open-app = Open in Telegram
btn-notify-on = 🔔 Notifications: on
btn-notify-off = 🔕 Notifications: off
btn-digest-on = Digest of bursts: on
btn-digest-off = Digest of bursts: off
btn-quiet = Quiet hours: { $hours }
btn-time-zone = Time zone: { $zone }
btn-quiet-off = No quiet hours
btn-my-matches = All my matches

## Your items
my-empty = You have no items yet. Post one with /offer or /want.
my-header = Your items ({ $total }), page { $page } of { $pages }:
my-line = { $n }. { $kind ->
        [offer] offer
       *[want] want
    } #{ $id }: { $title } — { $active ->
        [yes] visible
       *[no] hidden
    }
item-hidden = Hidden: { $title }. It no longer gets matches.
item-shown = Visible again: { $title }. It will be matched again.
ask-new-title = Send the new title for “{ $title }”.
ask-new-description = Send the new description for “{ $title }”.
item-updated = Saved: { $title }. It will be matched again.
item-card =
    { $kind ->
        [offer] Offer
       *[want] Want
    } #{ $id }: { $title }
    { $description }
    { $city } · { $category }
    { $link }

## Matches and trades
matches-empty = No matches yet. I will tell you as soon as there is one.
matches-header = Your matches ({ $total }), page { $page } of { $pages }:
match-line = { $n }. “{ $want }” ↔ “{ $offer }” — { $score }% similar{ $terms ->
        [none] {""}
       *[other] , shared words: { $terms }
    }
match-hidden = Hidden. I will not show you “{ $offer }” for “{ $want }” again.
trades-empty = No swaps or 3-way trades for you yet.
trades-header = Swaps and 3-way trades for you:
trade-line = { $n }. { $kind ->
        [swap] Swap
       *[cycle] 3-way trade
    } with { $people }, score { $score }%:
trade-leg =     { $giver } → { $receiver }: { $item }

## Exchanges
exchanges-empty = You have no exchanges yet. Propose one from /matches or /trades.
exchanges-header = Your exchanges:
exchange-line = #{ $id } { $kind } — { $status }
exchange-card =
    Exchange #{ $id } ({ $kind }) — { $status }.
    { $legs }
    { $parties }
exchange-leg-give = You give “{ $item }” to { $name }.
exchange-leg-get = You get “{ $item }” from { $name }.
exchange-leg-other = { $giver } gives “{ $item }” to { $receiver }.
exchange-party-accepted = { $name }: agreed
exchange-party-waiting = { $name }: not yet agreed
exchange-party-done = { $name }: confirmed the exchange
exchange-contact = Contact of { $name }: { $contact }
exchange-no-contact = { $name } gave no contact; ask them to add one on the website.
exchange-proposed = Proposed: exchange #{ $id }. I will tell you when the others answer.
rate-ask = How was the exchange with { $name }? Choose from 1 to 5 stars.
rate-comment = { $stars } for { $name }. Add a short comment, or press “Skip”.
rate-done = Thank you! Your rating of { $name } is saved.
bad-comment = A comment is at most 1000 characters. Try again, or press “Skip”.

kind-direct = one-way
kind-swap = swap
kind-cycle = 3-way trade

status-proposed = proposed, waiting for answers
status-accepted = agreed by everyone
status-completed = completed
status-declined = declined
status-cancelled = cancelled
status-expired = expired

## Sign-in
login-link =
    Your sign-in link for the website. It works once, for { $minutes ->
        [one] { $minutes } minute
       *[other] { $minutes } minutes
    }:
    { $url }

## Settings
settings =
    Your settings:
    Notifications in Telegram: { $notify ->
        [yes] on
       *[no] off (the website inbox still has them)
    }
    Digest of bursts: { $digest ->
        [yes] on — many matches at once come as one message
       *[no] off — every match is a message
    }
    Quiet hours: { $quiet }
    Time zone: { $zone }
quiet-none = none
quiet-range = { $start }:00–{ $end }:00 (messages wait until they end)
zone-from-city = { $zone } (from your city)
ask-quiet = When should I keep quiet? Hours are in your time zone ({ $zone }).
ask-time-zone = Send your time zone as an offset like +3 or −5:30, or a name like Europe/Moscow.
bad-time-zone = I do not know that time zone. Send an offset like +3, or a name like Europe/Moscow.
settings-saved = Saved.

## Notifications
notify-match =
    A match for your want “{ $want }”: “{ $offer }” from { $owner } ({ $score }% similar{ $ratings ->
        [0] , no ratings yet
        [one] , { $ratings } rating
       *[other] , { $ratings } ratings
    }).
    { $link }
notify-digest = { $count ->
        [one] { $count } new match for you:
       *[other] { $count } new matches for you:
    }
digest-more = …and { $more } more: /matches
digest-line = • “{ $want }” ← “{ $offer }” ({ $score }%)
notify-exchange-proposed =
    { $by } proposes an exchange #{ $id } ({ $kind }):
    { $legs }
    { $hours ->
        [one] Answer within { $hours } hour.
       *[other] Answer within { $hours } hours.
    }
    { $link }
notify-exchange-accepted-one = { $by } agreed to exchange #{ $id }. { $waiting ->
        [one] Waiting for { $waiting } more person.
       *[other] Waiting for { $waiting } more people.
    }
notify-exchange-accepted = Exchange #{ $id } is agreed by everyone! { $contacts }
    Meet, swap, then press “We exchanged”.
notify-exchange-declined = { $by } declined exchange #{ $id }.
notify-exchange-cancelled = { $by } cancelled exchange #{ $id }.
notify-exchange-cancelled-reserved = Exchange #{ $id } was cancelled: one of its items was promised in another exchange.
notify-exchange-cancelled-banned = Exchange #{ $id } was cancelled: one of the parties was banned.
notify-exchange-completed-one = { $by } confirmed that exchange #{ $id } happened. Press “We exchanged” when you have it too.
notify-exchange-completed = Exchange #{ $id } is completed. Please rate the other side.
notify-exchange-expired = Exchange #{ $id } expired: not everyone agreed in time.
notify-exchange-status = Exchange #{ $id } is now: { $status }.
notify-fallback = You have a new notice on { -brand }: { $link }
someone = someone

## Errors the domain reports, by code (others fall back to their kind)
error-account-banned = This account is banned.
error-telegram-link-invalid = This link code is invalid or was already used. Ask for a new one in the website's settings.
error-telegram-link-expired = This link code has expired. Ask for a new one in the website's settings.
error-telegram-in-use = This Telegram account already has its own { -brand } account with listings (@{ $username }), so I did not link it.
error-exchange-wrong-state = This exchange cannot be changed like that any more: it is { $status }.
error-already-accepted = You have already agreed to this exchange.
error-already-completed = You have already confirmed this exchange.
error-already-rated = You have already rated this person for this exchange.
error-item-reserved = One of the items is already promised in another exchange.
error-item-inactive = One of the items is no longer on offer.
error-party-banned = One of the parties is banned.
error-exchange-not-a-cycle = These matches do not make a swap or a 3-way trade.
error-not-owner = Only the owner can change this.
error-rating-exchange-not-completed = You can rate only after the exchange is completed.
error-bad-time-zone = I do not know that time zone. Send an offset like +3, or a name like Europe/Moscow.
error-match-not-found = This match no longer exists.
error-item-not-found = This item no longer exists or is hidden.
error-exchange-not-found = This exchange does not exist or is not yours.
