"""One aiogram Router per feature; `freemarket.bot.dispatcher` includes them in order."""
