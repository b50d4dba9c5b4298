"""Counting the queries a test captured (django.test.utils.CaptureQueriesContext's captured_queries) by what they do."""

from __future__ import annotations


def name_key_reads(queries: list[dict]) -> int:
    """How many of the queries read names' keys (gallery.selectors.names_folded)."""
    return sum(query["sql"].startswith("SELECT mediasearch_fold(name) FROM unnest(") for query in queries)


def tag_inserts(queries: list[dict]) -> int:
    """How many of the queries inserted tags."""
    return sum(query["sql"].startswith('INSERT INTO "gallery_tag"') for query in queries)
