"""Custody records: export schema, product catalogue, parsing/validation, generator."""

from stockpile.reconcile.custody.parse import CheckedRow, ExportError, Reject, read_export, write_rejects
from stockpile.reconcile.custody.schema import FIELDS, RESERVE_STATUSES, STATUSES, UNITS, Catalogue, Product

__all__ = ["FIELDS", "RESERVE_STATUSES", "STATUSES", "UNITS", "Catalogue", "CheckedRow", "ExportError", "Product",
           "Reject", "read_export", "write_rejects"]
