"""Synthetic marketplace corpus: Russian/English offers and wants over the 21 categories.

Usage: .venv/bin/python -m benchmarks.corpus 100000  (prints a few samples)
"""

from __future__ import annotations

import random
import sys

from freemarket.matching.core.engine import Listing

# product nouns per category (Russian and English), brands, and attributes
CATEGORIES: dict[str, tuple[list[str], list[str]]] = {
    "electronics": (
        [
            "наушники",
            "колонка",
            "телевизор",
            "фотоаппарат",
            "объектив",
            "плеер",
            "headphones",
            "camera",
            "speaker",
            "kindle",
            "приставка",
            "проектор",
            "видеорегистратор",
            "квадрокоптер",
        ],
        ["Sony", "JBL", "Canon", "Nikon", "Samsung", "LG", "Xiaomi", "Philips", "Marshall"],
    ),
    "phones": (
        [
            "телефон",
            "смартфон",
            "айфон",
            "iphone",
            "phone",
            "чехол",
            "зарядка",
            "мобильник",
            "powerbank",
        ],
        ["Apple", "Samsung", "Xiaomi", "Huawei", "Honor", "Nokia", "Google Pixel", "Realme"],
    ),
    "computers": (
        [
            "ноутбук",
            "ноут",
            "laptop",
            "монитор",
            "клавиатура",
            "мышь",
            "системный блок",
            "видеокарта",
            "планшет",
            "принтер",
            "роутер",
            "ssd",
            "оперативка",
        ],
        [
            "Lenovo",
            "Asus",
            "Acer",
            "HP",
            "Dell",
            "MSI",
            "Apple",
            "Logitech",
            "Intel",
            "AMD",
            "Nvidia",
        ],
    ),
    "appliances": (
        [
            "холодильник",
            "стиральная машина",
            "микроволновка",
            "пылесос",
            "чайник",
            "кофемашина",
            "мультиварка",
            "утюг",
            "фен",
            "обогреватель",
            "швейная машинка",
            "fridge",
            "microwave",
            "vacuum",
        ],
        [
            "Bosch",
            "Samsung",
            "LG",
            "Indesit",
            "Атлант",
            "Philips",
            "Dyson",
            "Tefal",
            "Redmond",
            "DeLonghi",
        ],
    ),
    "furniture": (
        [
            "диван",
            "кресло",
            "стул",
            "стол",
            "письменный стол",
            "шкаф",
            "комод",
            "кровать",
            "матрас",
            "полка",
            "тумба",
            "sofa",
            "chair",
            "desk",
            "wardrobe",
        ],
        ["IKEA", "Hoff", "Шатура", "Askona"],
    ),
    "home": (
        [
            "посуда",
            "кастрюля",
            "сковорода",
            "тарелки",
            "ковер",
            "шторы",
            "люстра",
            "лампа",
            "одеяло",
            "подушка",
            "постельное белье",
            "коробки",
            "банки",
            "rug",
            "lamp",
            "curtains",
        ],
        ["IKEA", "Tefal", "Luminarc"],
    ),
    "garden": (
        [
            "газонокосилка",
            "триммер",
            "семена",
            "рассада",
            "лопата",
            "шланг",
            "теплица",
            "мангал",
            "тачка",
            "lawn mower",
            "pressure washer",
        ],
        ["Bosch", "Karcher", "Makita", "Gardena"],
    ),
    "tools": (
        [
            "шуруповерт",
            "дрель",
            "перфоратор",
            "болгарка",
            "лобзик",
            "пила",
            "сварочный аппарат",
            "набор ключей",
            "стремянка",
            "drill",
            "ladder",
            "компрессор",
        ],
        ["Makita", "Bosch", "DeWalt", "Интерскол", "Metabo", "Ryobi"],
    ),
    "kids": (
        [
            "коляска",
            "автокресло",
            "кроватка",
            "манеж",
            "конструктор",
            "игрушки",
            "кукла",
            "самокат",
            "санки",
            "pram",
            "car seat",
            "lego",
        ],
        ["Lego", "Chicco", "Cybex", "Tutis", "Peg Perego"],
    ),
    "clothing": (
        [
            "куртка",
            "пуховик",
            "пальто",
            "платье",
            "джинсы",
            "свитер",
            "костюм",
            "шапка",
            "jacket",
            "dress",
            "coat",
            "jumper",
            "школьная форма",
        ],
        ["Zara", "H&M", "Columbia", "Uniqlo", "Adidas", "Nike"],
    ),
    "shoes": (
        ["кроссовки", "ботинки", "сапоги", "туфли", "сандалии", "trainers", "boots", "кеды"],
        ["Nike", "Adidas", "Puma", "Ecco", "Reebok", "New Balance"],
    ),
    "books": (
        [
            "книга",
            "учебник",
            "роман",
            "детские книги",
            "комиксы",
            "энциклопедия",
            "book",
            "novel",
            "textbook",
        ],
        ["Толстой", "Пушкин", "Гарри Поттер", "Tolkien", "Азбука", "Росмэн"],
    ),
    "music": (
        [
            "гитара",
            "синтезатор",
            "пианино",
            "скрипка",
            "барабаны",
            "укулеле",
            "guitar",
            "keyboard",
            "микрофон",
            "усилитель",
        ],
        ["Yamaha", "Fender", "Casio", "Gibson", "Roland"],
    ),
    "sports": (
        [
            "лыжи",
            "коньки",
            "гантели",
            "беговая дорожка",
            "палатка",
            "спальник",
            "мяч",
            "ракетка",
            "сноуборд",
            "тренажер",
            "skis",
            "tent",
            "dumbbells",
        ],
        ["Fischer", "Atomic", "Torneo", "Nordway", "Wilson"],
    ),
    "bicycles": (
        [
            "велосипед",
            "велик",
            "bike",
            "шлем",
            "велосипедный замок",
            "насос",
            "колесо",
            "детский велосипед",
            "горный велосипед",
            "беговел",
        ],
        ["Stels", "Forward", "Merida", "Giant", "Author", "Trek"],
    ),
    "auto": (
        [
            "шины",
            "зимняя резина",
            "диски",
            "автомагнитола",
            "багажник",
            "домкрат",
            "коврики",
            "tyres",
            "видеорегистратор",
        ],
        ["Nokian", "Michelin", "Bridgestone", "Toyota", "Lada", "Kia"],
    ),
    "hobby": (
        [
            "пряжа",
            "спицы",
            "краски",
            "мольберт",
            "холст",
            "марки",
            "монеты",
            "удочка",
            "пазлы",
            "настольная игра",
            "yarn",
            "board game",
        ],
        ["Alize", "Ravensburger", "Hasbro"],
    ),
    "pets": (
        [
            "котенок",
            "щенок",
            "аквариум",
            "клетка",
            "переноска",
            "корм",
            "лоток",
            "когтеточка",
            "лежанка",
            "cage",
            "kitten",
        ],
        ["Royal Canin", "Tetra", "Ferplast"],
    ),
    "beauty": (
        ["духи", "крем", "шампунь", "помада", "фен", "плойка", "косметика", "perfume", "makeup"],
        ["Chanel", "Dior", "L'Oreal", "Nivea", "Clinique"],
    ),
    "services": (
        [
            "репетитор",
            "ремонт",
            "грузчики",
            "уборка",
            "няня",
            "стрижка",
            "фотограф",
            "перевод",
            "tutor",
            "cleaning",
            "уроки английского",
        ],
        ["онлайн", "на дому", "с выездом"],
    ),
    "other": (
        ["коробки", "раскладушка", "всякое", "билеты", "сувениры", "stuff", "вещи", "подарки"],
        ["разное"],
    ),
}
ADJECTIVES = [
    "новый",
    "б/у",
    "детский",
    "большой",
    "маленький",
    "черный",
    "белый",
    "синий",
    "красный",
    "кожаный",
    "деревянный",
    "складной",
    "электрический",
    "зимний",
    "летний",
    "мужской",
    "женский",
    "старый",
    "компактный",
    "used",
    "new",
    "small",
    "large",
    "black",
    "white",
    "kids",
]
CONDITIONS = [
    "В хорошем состоянии.",
    "Есть небольшие царапины.",
    "Почти не пользовались.",
    "Работает отлично.",
    "Требует небольшого ремонта.",
    "Полный комплект.",
    "Good condition.",
    "Barely used.",
    "Some wear.",
    "Коробка и документы есть.",
    "Без коробки.",
    "Отдам даром.",
    "Обмен на что-нибудь полезное.",
    "Самовывоз.",
    "Могу привезти к метро.",
    "Collection only.",
]
WANT_PHRASES = ["Ищу", "Нужен", "Нужна", "Возьму", "Looking for", "Wanted:", ""]
WANT_DESC = [
    "Можно б/у.",
    "Для дачи.",
    "Для ребенка.",
    "Для себя.",
    "Состояние не важно.",
    "Заберу сам.",
    "Any condition.",
    "For my son.",
    "For my daughter.",
    "Готов обменять на что-то своё.",
    "Срочно.",
]
CITIES = [
    ("Москва", 30),
    ("Санкт-Петербург", 14),
    ("Новосибирск", 5),
    ("Екатеринбург", 5),
    ("Казань", 4),
    ("Нижний Новгород", 4),
    ("Челябинск", 3),
    ("Самара", 3),
    ("Омск", 3),
    ("Ростов-на-Дону", 3),
    ("Уфа", 3),
    ("Красноярск", 3),
    ("Воронеж", 2),
    ("Пермь", 2),
    ("Волгоград", 2),
    ("Краснодар", 3),
    ("Саратов", 2),
    ("Тюмень", 2),
    ("Тольятти", 1),
    ("Ижевск", 1),
    ("Барнаул", 1),
    ("Иркутск", 1),
    ("Хабаровск", 1),
    ("Владивосток", 1),
    ("Ярославль", 1),
    ("Томск", 1),
    ("Оренбург", 1),
    ("Кемерово", 1),
    ("London", 3),
    ("Manchester", 1),
    ("Birmingham", 1),
    ("Алматы", 1),
    ("Минск", 1),
    ("Тбилиси", 1),
]


def generate(n: int, seed: int = 42, delivery_rate: float = 0.15) -> list[Listing]:
    """``n`` listings (about half offers, half wants) over ~n/10 users."""
    rng = random.Random(seed)
    cats = list(CATEGORIES)
    cat_weights = [
        3
        if c in ("kids", "clothing", "electronics", "phones", "home")
        else 2
        if c != "other"
        else 1
        for c in cats
    ]
    cities = [c for c, _ in CITIES]
    city_w = [w for _, w in CITIES]
    n_users = max(2, n // 10)
    user_city = [rng.choices(cities, city_w)[0] for _ in range(n_users)]
    out: list[Listing] = []
    for i in range(n):
        cat = rng.choices(cats, cat_weights)[0]
        nouns, brands = CATEGORIES[cat]
        user = rng.randrange(n_users)
        kind = "offer" if rng.random() < 0.55 else "want"
        noun = rng.choice(nouns)
        parts = [noun.capitalize()]
        if rng.random() < 0.6:
            parts.append(rng.choice(brands))
        if rng.random() < 0.35:
            parts.append(f"{rng.choice('ABCDEFGKMSVXZ')}{rng.randrange(1, 999)}")
        if rng.random() < 0.4:
            parts.insert(1 if rng.random() < 0.5 else len(parts), rng.choice(ADJECTIVES))
        if kind == "want":
            title = f"{rng.choice(WANT_PHRASES)} {' '.join(parts)}".strip()
            desc = " ".join(rng.sample(WANT_DESC, rng.randint(1, 3)))
        else:
            title = " ".join(parts)
            desc = " ".join(rng.sample(CONDITIONS, rng.randint(1, 4)))
            if rng.random() < 0.3:
                adj = rng.choice(ADJECTIVES).capitalize()
                desc += f" {adj} {rng.choice(nouns)} {rng.choice(brands)}."
        if rng.random() < 0.3:
            desc += f" Размер {rng.randrange(20, 60)}, {rng.randrange(1, 30)} кг."
        out.append(
            Listing(
                id=i + 1,
                user_id=user + 1,
                kind=kind,
                category=cat,
                city=user_city[user] if rng.random() < 0.95 else rng.choices(cities, city_w)[0],
                title=title,
                description=desc,
                delivery=kind == "offer" and rng.random() < delivery_rate,
            )
        )
    return out


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    for x in generate(size)[:20]:
        print(x.kind, x.category, x.city, "|", x.title, "|", x.description)
