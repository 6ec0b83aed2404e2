"""The default listing categories (slug, Russian name, English name)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from freemarket.db.models import Category
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


def list_categories(session: Session) -> list[Category]:
    """Every category in display order."""
    return list(session.scalars(select(Category).order_by(Category.position, Category.slug)))
