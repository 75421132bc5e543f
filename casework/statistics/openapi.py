"""The OpenAPI description of the statistics API, served at /api/v1/openapi.json.

Written out by hand as a dict, so that what the API promises is reviewed like code; the
test suite runs schemathesis against it (tests/casework/test_statistics_api.py), so the
description and the answers cannot drift apart. The release schema is the export
schema (casework.statistics.export), version 1 or 2: a release is served exactly as it
was published, so one published before version 2 keeps its count tables only.
"""

from __future__ import annotations

import copy
from typing import Any

API_VERSION = "1.1.0"  # 1.1: releases of schema lykta-statistics/2
ID_PATTERN = "^[0-9a-f]{32}$"

_ERROR = {
    "type": "object",
    "required": ["error", "message"],
    "properties": {
        "error": {"type": "string", "description": "A stable code: bad_request, "
                  "unauthorized, not_found, rate_limited, unavailable, ..."},
        "message": {"type": "string", "description": "What went wrong, in words."},
    },
}


def _error(description: str, headers: dict[str, Any] | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if headers:
        answer["headers"] = headers
    return answer


_ERRORS = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "429": {"$ref": "#/components/responses/TooManyRequests"},
    "503": {"$ref": "#/components/responses/Unavailable"},
}

# A cell of a released table: [row, column, value, flag]. The value is null exactly when
# the flag is "c" (suppressed, shown ":c"; the reason is never published); margins use
# the key "total".
_CELL = {
    "type": "array",
    "minItems": 4,
    "maxItems": 4,
    "prefixItems": [
        {"type": "string"},
        {"type": "string"},
        {"type": ["integer", "null"], "minimum": 0},
        {"enum": ["c", None]},
    ],
}

_TABLE = {
    "type": "object",
    "required": ["id", "rows", "columns", "cells"],
    "description": "One released table: counts by rows (and columns), margins included.",
    "properties": {
        "id": {"type": "string", "examples": ["received_by_category"]},
        "title": {"type": "string"},
        "rows": {"type": "array", "items": {"type": "string"}},
        "columns": {"type": "array", "items": {"type": "string"}},
        "cells": {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}},
    },
}

# A group of a durations figure: [group, n, median, p90, flag], whole days. n, median
# and p90 are null exactly when the flag is "c" (the group is suppressed); a group of no
# cases has n 0 and no median.
_GROUP = {
    "type": "array",
    "minItems": 5,
    "maxItems": 5,
    "prefixItems": [
        {"type": "string"},
        {"type": ["integer", "null"], "minimum": 0},
        {"type": ["integer", "null"], "minimum": 0},
        {"type": ["integer", "null"], "minimum": 0},
        {"enum": ["c", None]},
    ],
}

_DURATIONS = {
    "type": "object",
    "required": ["id", "title", "unit", "groups"],
    "description": "Median and 90th percentile days per group (a unit, or 'total': all "
                   "units), published only for groups of at least k cases.",
    "properties": {
        "id": {"type": "string", "examples": ["days_to_feedback"]},
        "title": {"type": "string"},
        "note": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "unit": {"const": "days"},
        "groups": {"type": "array", "items": {"$ref": "#/components/schemas/DaysGroup"}},
    },
}

_AMOUNTS = {
    "type": "object",
    "required": ["id", "title", "unit", "rows", "columns", "cells"],
    "description": "Sums of whole kronor by unit and in total (art. 27(2), annual "
                   "releases), each cell [unit, 'total', kronor, flag] like a table's.",
    "properties": {
        "id": {"type": "string", "examples": ["art27_damage_sek"]},
        "title": {"type": "string"},
        "note": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "unit": {"const": "SEK"},
        "rows": {"type": "array", "items": {"type": "string"}},
        "columns": {"type": "array", "items": {"type": "string"}},
        "cells": {"type": "array", "items": {"$ref": "#/components/schemas/Cell"}},
    },
}

_RELEASE = {
    "type": "object",
    "required": ["schema", "period", "kind", "k", "protection", "tables"],
    "description": "A published release, exactly as published: the export schema of "
                   "casework.statistics.export (docs/statistics.md). Releases published "
                   "under lykta-statistics/1 hold count tables only; lykta-statistics/2 "
                   "adds durations and amounts (both present, perhaps empty).",
    "properties": {
        "schema": {"enum": ["lykta-statistics/1", "lykta-statistics/2"],
                   "description": "The export schema and its version."},
        "period": {"type": "string", "examples": ["2026-Q3", "2026"]},
        "kind": {"type": "string", "enum": ["quarterly", "annual"]},
        "k": {"type": "integer", "minimum": 3,
              "description": "No shown cell counts fewer than k cases."},
        "protection": {"type": "integer", "minimum": 1},
        "tables": {"type": "array", "items": {"$ref": "#/components/schemas/Table"}},
        "durations": {"type": "array",
                      "items": {"$ref": "#/components/schemas/Durations"}},
        "amounts": {"type": "array", "items": {"$ref": "#/components/schemas/Amounts"}},
        "legend": {"type": "object", "additionalProperties": {"type": "string"},
                   "description": "What ':c' means."},
    },
    "if": {"properties": {"schema": {"const": "lykta-statistics/2"}}},
    "then": {"required": ["durations", "amounts"]},
}

_SUMMARY = {
    "type": "object",
    "required": ["id", "kind", "period", "released_at", "schema"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "pattern": ID_PATTERN},
        "kind": {"type": "string", "enum": ["quarterly", "annual"]},
        "period": {"type": "string"},
        "released_at": {"type": "string", "format": "date"},
        "schema": {"type": ["string", "null"]},
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Lykta statistics API",
        "version": API_VERSION,
        "description": "Read-only open data for the transparency portal: the statistics "
                       "KOF has published (quarterly and annual releases), after "
                       "disclosure control. Never a case, a case id, a reference or a "
                       "date finer than a period. Each request carries a token "
                       "(Authorization: Bearer lykta_...) and counts against the "
                       "token's limit of requests per minute.",
    },
    "paths": {
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This description (no token needed).",
                "security": [],
                "responses": {"200": {"description": "The OpenAPI description.",
                                      "content": {"application/json": {
                                          "schema": {"type": "object"}}}}},
            },
        },
        "/api/v1/releases": {
            "get": {
                "operationId": "listReleases",
                "summary": "Published releases, oldest first, 100 a page.",
                "parameters": [{
                    "name": "after", "in": "query", "required": False,
                    "description": "The id of the last release of the previous page.",
                    "schema": {"type": "string", "pattern": ID_PATTERN},
                }],
                "responses": {
                    "200": {"description": "A page of releases.", "content": {
                        "application/json": {"schema": {
                            "type": "object", "required": ["releases", "next"],
                            "additionalProperties": False,
                            "properties": {
                                "releases": {"type": "array", "items": {
                                    "$ref": "#/components/schemas/ReleaseSummary"}},
                                "next": {"type": ["string", "null"],
                                         "description": "Pass as ?after= for the next "
                                                        "page; null on the last."},
                            }}}}},
                    **_ERRORS,
                },
            },
        },
        "/api/v1/releases/{id}": {
            "get": {
                "operationId": "getRelease",
                "summary": "One published release's tables.",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "string", "pattern": ID_PATTERN}}],
                "responses": {
                    "200": {"description": "The release, exactly as published.",
                            "content": {"application/json": {
                                "schema": {"$ref": "#/components/schemas/Release"}}}},
                    "404": {"$ref": "#/components/responses/NotFound"},
                    **_ERRORS,
                },
            },
        },
    },
    "security": [{"bearer": []}],
    "components": {
        "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer",
                       "description": "A token a statistician created at "
                                      "/statistics/tokens/ (shown once)."},
        },
        "schemas": {"Error": _ERROR, "Release": _RELEASE, "Table": _TABLE, "Cell": _CELL,
                    "Durations": _DURATIONS, "DaysGroup": _GROUP, "Amounts": _AMOUNTS,
                    "ReleaseSummary": _SUMMARY},
        "responses": {
            "BadRequest": _error("A parameter was malformed."),
            "Unauthorized": _error("No token, or a malformed, unknown or revoked one.",
                                   {"WWW-Authenticate": {"schema": {"type": "string"}}}),
            "NotFound": _error("No published release has this id."),
            "TooManyRequests": _error("Over the token's requests per minute.",
                                      {"Retry-After": {"schema": {"type": "integer"}}}),
            "Unavailable": _error("The rate limit's store did not answer."),
        },
    },
}


def spec() -> dict[str, Any]:
    """A fresh copy of the description (callers may change theirs)."""
    return copy.deepcopy(SPEC)
