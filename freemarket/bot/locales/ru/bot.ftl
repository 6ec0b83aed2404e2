## Бот FreeMarket, русский. Переменные — строки, кроме чисел, по которым выбирается форма.

-brand = FreeMarket

## Команды (setMyCommands)
cmd-start = Начать и зарегистрироваться
cmd-help = Что умеет бот
cmd-offer = Предложить вещь или услугу
cmd-want = Написать, что вы ищете
cmd-my = Ваши объявления
cmd-matches = Лучшие совпадения
cmd-trades = Обмены вдвоём и втроём
cmd-exchanges = Ваши обмены
cmd-login = Войти на сайт
cmd-settings = Уведомления и тихие часы
cmd-lang = Язык: Русский / English
cmd-cancel = Прервать текущий диалог

## Начало и справка
welcome = Здравствуйте, { $name }! { -brand } — площадка для обмена: расскажите, что вы отдаёте и что ищете, а мы найдём, с кем поменяться.
linked = Готово, { $name }: этот Telegram привязан к вашему аккаунту { -brand }. Уведомления будут приходить сюда, а /login открывает сайт.
link-hint = Уже есть аккаунт { -brand } на сайте? Откройте там Профиль → Telegram → «Привязать Telegram», и этот чат станет тем аккаунтом.
help =
    Что я умею:
    /offer — предложить вещь или услугу
    /want — написать, что вы ищете
    /my — ваши объявления
    /matches — лучшие совпадения
    /trades — обмены вдвоём и втроём
    /exchanges — ваши обмены
    /login — войти на сайт
    /settings — уведомления, тихие часы, сводка
    /lang — Русский / English
    /cancel — прервать текущий диалог
fallback = Я понимаю только команды. Наберите /help, чтобы их увидеть, или /offer и /want, чтобы разместить объявление.
lang-choose = Выберите язык:
lang-set = Готово: буду говорить с вами по-русски.
cancelled = Отменено. Ничего не сохранено.
nothing-to-cancel = Отменять нечего.
error-generic = Что-то пошло не так; ничего не изменилось. Попробуйте ещё раз.
error-not-found = Этого больше нет, или оно вам недоступно.
error-conflict = Сейчас это сделать нельзя: { $detail }
error-forbidden = Вам это делать нельзя.
error-invalid = Не получилось: { $detail }
error-rate-limited = Слишком много запросов; попробуйте через минуту.

## Новое объявление
ask-title-offer = Что вы предлагаете? Пришлите короткое название (от 2 до 200 символов).
ask-title-want = Что вы ищете? Пришлите короткое название (от 2 до 200 символов).
bad-title = Название — это текст от 2 до 200 символов. Попробуйте ещё раз или нажмите /cancel.
ask-category = Выберите категорию:
bad-category = Выберите категорию кнопками ниже или нажмите /cancel.
ask-description = Опишите вещь (состояние, размер, что важно) или нажмите «Пропустить».
bad-description = Описание — не длиннее 5000 символов. Попробуйте ещё раз или нажмите «Пропустить».
ask-city = В каком городе?
ask-city-known = В каком городе? Нажмите кнопку «{ $city }» или напишите другой.
bad-city = Название города — от 1 до 100 символов. Попробуйте ещё раз или нажмите /cancel.
ask-delivery = Можете отправить в другой город?
confirm-item =
    Проверьте и подтвердите:
    { $kind ->
        [offer] Предлагаю
       *[want] Ищу
    }: { $title }
    Категория: { $category }
    Описание: { $description }
    Город: { $city }
confirm-delivery = Отправка в другие города: { $delivery ->
        [yes] да
       *[no] нет
    }
item-posted = Опубликовано: { $title } ({ $link }). Я сообщу, когда найдётся совпадение.
no-description = —
use-buttons = Воспользуйтесь кнопками выше или нажмите /cancel.

## Кнопки
btn-skip = Пропустить
btn-yes = Да
btn-no = Нет
btn-post = Опубликовать
btn-cancel = Отмена
btn-keep-city = { $city }
btn-prev = ◀ Назад
btn-next = Дальше ▶
btn-deactivate = Скрыть №{ $id }
btn-reactivate = Показать №{ $id }
btn-edit = Изменить №{ $id }
btn-edit-title = Новое название
btn-edit-description = Новое описание
btn-see-match = Посмотреть
btn-propose = Предложить обмен
btn-propose-n = Предложить №{ $n }
btn-not-interested = Не интересно
btn-accept = Согласиться
btn-decline = Отказаться
btn-complete = Мы обменялись
btn-cancel-exchange = Отменить обмен
btn-rate = Оценить { $name }
btn-open-site = Открыть { -brand }
btn-open-app = Открыть в Telegram
btn-notify-on = 🔔 Уведомления: включены
btn-notify-off = 🔕 Уведомления: выключены
btn-digest-on = Сводка при наплыве: включена
btn-digest-off = Сводка при наплыве: выключена
btn-quiet = Тихие часы: { $hours }
btn-time-zone = Часовой пояс: { $zone }
btn-quiet-off = Без тихих часов
btn-my-matches = Все мои совпадения

## Ваши объявления
my-empty = У вас пока нет объявлений. Разместите первое: /offer или /want.
my-header = Ваши объявления ({ $total }), страница { $page } из { $pages }:
my-line = { $n }. { $kind ->
        [offer] предлагаю
       *[want] ищу
    } №{ $id }: { $title } — { $active ->
        [yes] видно всем
       *[no] скрыто
    }
item-hidden = Скрыто: { $title }. Совпадений по нему больше не будет.
item-shown = Снова видно: { $title }. Совпадения будут подобраны заново.
ask-new-title = Пришлите новое название для «{ $title }».
ask-new-description = Пришлите новое описание для «{ $title }».
item-updated = Сохранено: { $title }. Совпадения будут подобраны заново.
item-card =
    { $kind ->
        [offer] Предлагаю
       *[want] Ищу
    } №{ $id }: { $title }
    { $description }
    { $city } · { $category }
    { $link }

## Совпадения и обмены
matches-empty = Совпадений пока нет. Я сообщу, как только появятся.
matches-header = Ваши совпадения ({ $total }), страница { $page } из { $pages }:
match-line = { $n }. «{ $want }» ↔ «{ $offer }» — сходство { $score }%{ $terms ->
        [none] {""}
       *[other] , общие слова: { $terms }
    }
match-hidden = Скрыто. Больше не покажу «{ $offer }» для «{ $want }».
trades-empty = Обменов вдвоём или втроём для вас пока нет.
trades-header = Обмены для вас:
trade-line = { $n }. { $kind ->
        [swap] Обмен вдвоём
       *[cycle] Обмен втроём
    } с { $people }, оценка { $score }%:
trade-leg =     { $giver } → { $receiver }: { $item }

## Обмены
exchanges-empty = У вас пока нет обменов. Предложите обмен из /matches или /trades.
exchanges-header = Ваши обмены:
exchange-line = №{ $id } { $kind } — { $status }
exchange-card =
    Обмен №{ $id } ({ $kind }) — { $status }.
    { $legs }
    { $parties }
exchange-leg-give = Вы отдаёте «{ $item }» — { $name }.
exchange-leg-get = Вы получаете «{ $item }» от { $name }.
exchange-leg-other = { $giver } отдаёт «{ $item }» — { $receiver }.
exchange-party-accepted = { $name }: согласие есть
exchange-party-waiting = { $name }: ещё не ответил(а)
exchange-party-done = { $name }: подтвердил(а) обмен
exchange-contact = Контакт { $name }: { $contact }
exchange-no-contact = { $name } не указал(а) контакт; попросите добавить его на сайте.
exchange-proposed = Предложен обмен №{ $id }. Я сообщу, когда остальные ответят.
rate-ask = Как прошёл обмен с { $name }? Поставьте от 1 до 5 звёзд.
rate-comment = { $stars } для { $name }. Добавьте короткий отзыв или нажмите «Пропустить».
rate-done = Спасибо! Ваша оценка для { $name } сохранена.
bad-comment = Отзыв — не длиннее 1000 символов. Попробуйте ещё раз или нажмите «Пропустить».

kind-direct = в одну сторону
kind-swap = вдвоём
kind-cycle = втроём

status-proposed = предложен, ждём ответов
status-accepted = все согласны
status-completed = завершён
status-declined = отклонён
status-cancelled = отменён
status-expired = истёк

## Вход на сайт
login-link =
    Ваша ссылка для входа на сайт. Она сработает один раз в течение { $minutes ->
        [one] { $minutes } минуты
       *[other] { $minutes } минут
    }:
    { $url }

## Настройки
settings =
    Ваши настройки:
    Уведомления в Telegram: { $notify ->
        [yes] включены
       *[no] выключены (на сайте они всё равно есть)
    }
    Сводка при наплыве: { $digest ->
        [yes] включена — много совпадений сразу придут одним сообщением
       *[no] выключена — каждое совпадение отдельным сообщением
    }
    Тихие часы: { $quiet }
    Часовой пояс: { $zone }
quiet-none = нет
quiet-range = с { $start }:00 до { $end }:00 (сообщения подождут до их конца)
zone-from-city = { $zone } (по вашему городу)
ask-quiet = Когда мне молчать? Часы — по вашему часовому поясу ({ $zone }).
ask-time-zone = Пришлите часовой пояс как смещение, например +3 или −5:30, или как название, например Europe/Moscow.
bad-time-zone = Не знаю такого часового пояса. Пришлите смещение, например +3, или название, например Europe/Moscow.
settings-saved = Сохранено.

## Уведомления
notify-match =
    Совпадение для «{ $want }»: «{ $offer }» от { $owner } (сходство { $score }%{ $ratings ->
        [0] , оценок пока нет
        [one] , { $ratings } оценка
        [few] , { $ratings } оценки
       *[many] , { $ratings } оценок
    }).
    { $link }
notify-digest = { $count ->
        [one] У вас { $count } новое совпадение:
        [few] У вас { $count } новых совпадения:
       *[many] У вас { $count } новых совпадений:
    }
digest-more = { $more ->
        [one] …и ещё { $more } совпадение: /matches
        [few] …и ещё { $more } совпадения: /matches
       *[many] …и ещё { $more } совпадений: /matches
    }
digest-line = • «{ $want }» ← «{ $offer }» ({ $score }%)
notify-exchange-proposed =
    { $by } предлагает обмен №{ $id } ({ $kind }):
    { $legs }
    { $hours ->
        [one] Ответьте в течение { $hours } часа.
       *[other] Ответьте в течение { $hours } часов.
    }
    { $link }
notify-exchange-accepted-one = { $by } соглашается на обмен №{ $id }. { $waiting ->
        [one] Ждём ответа ещё от { $waiting } человека.
       *[other] Ждём ответа ещё от { $waiting } человек.
    }
notify-exchange-accepted = Обмен №{ $id } согласован всеми! { $contacts }
    Встретьтесь, обменяйтесь и нажмите «Мы обменялись».
notify-exchange-declined = { $by } отказывается от обмена №{ $id }.
notify-exchange-cancelled = { $by } отменяет обмен №{ $id }.
notify-exchange-cancelled-reserved = Обмен №{ $id } отменён: одну из вещей уже пообещали в другом обмене.
notify-exchange-cancelled-banned = Обмен №{ $id } отменён: одного из участников заблокировали.
notify-exchange-completed-one = { $by } подтверждает, что обмен №{ $id } состоялся. Нажмите «Мы обменялись», когда и у вас всё получится.
notify-exchange-completed = Обмен №{ $id } завершён. Пожалуйста, оцените другую сторону.
notify-exchange-expired = Обмен №{ $id } истёк: не все согласились вовремя.
notify-exchange-status = Обмен №{ $id } теперь: { $status }.
notify-fallback = У вас новое уведомление на { -brand }: { $link }
someone = кто-то

## Ошибки домена по коду (остальные — по виду ошибки)
error-account-banned = Этот аккаунт заблокирован.
error-telegram-link-invalid = Этот код привязки неверен или уже использован. Получите новый в настройках на сайте.
error-telegram-link-expired = Срок действия кода привязки истёк. Получите новый в настройках на сайте.
error-telegram-in-use = У этого Telegram уже есть свой аккаунт { -brand } с объявлениями (@{ $username }), поэтому я его не привязал.
error-exchange-wrong-state = Этот обмен так изменить уже нельзя: он { $status }.
error-already-accepted = Вы уже согласились на этот обмен.
error-already-completed = Вы уже подтвердили этот обмен.
error-already-rated = Вы уже оценили этого человека за этот обмен.
error-item-reserved = Одну из вещей уже пообещали в другом обмене.
error-item-inactive = Одной из вещей больше нет в объявлениях.
error-party-banned = Один из участников заблокирован.
error-exchange-not-a-cycle = Эти совпадения не складываются в обмен вдвоём или втроём.
error-not-owner = Изменить это может только владелец.
error-rating-exchange-not-completed = Оценить можно только после завершения обмена.
error-bad-time-zone = Не знаю такого часового пояса. Пришлите смещение, например +3, или название, например Europe/Moscow.
error-match-not-found = Этого совпадения больше нет.
error-item-not-found = Этого объявления больше нет, или оно скрыто.
error-exchange-not-found = Такого обмена нет, или вы в нём не участвуете.
