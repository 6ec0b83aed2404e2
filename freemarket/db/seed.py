"""The rows every marketplace starts with: the default listing categories, in display order.

Written by migration 0001; kept beside the models because the migration may not import the
domain (tests/test_layering.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from freemarket.matching.core import OTHER_CATEGORY


@dataclass(frozen=True, slots=True)
class DefaultCategory:
    """One of the categories every marketplace starts with."""

    slug: str
    name_ru: str
    name_en: str


DEFAULT_CATEGORIES: tuple[DefaultCategory, ...] = (
    DefaultCategory("electronics", "Электроника", "Electronics"),
    DefaultCategory("phones", "Телефоны", "Phones"),
    DefaultCategory("computers", "Компьютеры", "Computers"),
    DefaultCategory("appliances", "Бытовая техника", "Appliances"),
    DefaultCategory("furniture", "Мебель", "Furniture"),
    DefaultCategory("home", "Дом и быт", "Home"),
    DefaultCategory("garden", "Сад и огород", "Garden"),
    DefaultCategory("tools", "Инструменты", "Tools"),
    DefaultCategory("kids", "Детские товары", "Kids"),
    DefaultCategory("clothing", "Одежда", "Clothing"),
    DefaultCategory("shoes", "Обувь", "Shoes"),
    DefaultCategory("books", "Книги", "Books"),
    DefaultCategory("music", "Музыка", "Music"),
    DefaultCategory("sports", "Спорт", "Sports"),
    DefaultCategory("bicycles", "Велосипеды", "Bicycles"),
    DefaultCategory("auto", "Авто", "Auto"),
    DefaultCategory("hobby", "Хобби", "Hobby"),
    DefaultCategory("pets", "Животные", "Pets"),
    DefaultCategory("beauty", "Красота и здоровье", "Beauty"),
    DefaultCategory("services", "Услуги", "Services"),
    DefaultCategory(OTHER_CATEGORY, "Другое", "Other"),
)
