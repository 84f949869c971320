"""Basket shares: the ``stockpile basket`` command (the client is ``stockpile.sdk.basket``; the
contracts are in ``contracts/basket/``)."""
