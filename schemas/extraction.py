"""The HTTP contract of ``POST /v1/extractions``: the request, the reply and the claim."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, field_validator

from schemas.claim_types import Attribution, ClaimType
from schemas.factchecks import FactCheckMatch

SCHEMA_VERSION = "1"
TITLE_CHARS = 1000  # a headline, given to the model with every chunk
METADATA_BYTES = 16 * 1024  # an article's metadata, as UTF-8 JSON
METADATA_DEPTH = 32  # objects and arrays within each other in it


def _depth(value: Any) -> int:
    """Return how many objects and arrays nest within each other in a JSON value (without recursion)."""
    deepest, waiting = 0, [(value, 0)]
    while waiting:
        node, depth = waiting.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is not None:
            depth += 1
            deepest = max(deepest, depth)
            if depth <= METADATA_DEPTH:  # deeper than the limit is refused: no need to look further
                waiting.extend((child, depth) for child in children)
    return deepest


NonBlankText = Annotated[str, StringConstraints(min_length=1, pattern=r"\S")]
PromptRef = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(@[1-9][0-9]*)?$")]


def _date_time_text(value: object) -> object:
    """Take a date-time only as ISO 8601 text: a bare number is no date in JSON (nor in the published schema)."""
    if isinstance(value, str | datetime):
        return value
    raise ValueError("must be an ISO 8601 date-time string, e.g. 2024-08-13T02:00:00Z")


IsoDateTime = Annotated[datetime, BeforeValidator(_date_time_text)]

LANGUAGE_TAG_CHARS = 35  # RFC 5646 4.4.1: the length an implementation is to support at least; subtags at most 8
LanguageTag = Annotated[
    str, StringConstraints(max_length=LANGUAGE_TAG_CHARS, pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
]
URL_CHARS = 2048
# no control character (C0, DEL, C1) and no space of any kind (RFC 3986 has none), spelt out rather than \s, which
# Python, Rust (pydantic) and ECMA-262 (JSON Schema's validators) each read differently
NOT_IN_URL = r" \x00-\x1f\x7f-\x9f\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
HTTP_URL = rf"^[Hh][Tt][Tt][Pp][Ss]?://[^/?#{NOT_IN_URL}]+([/?#][^{NOT_IN_URL}]*)?$"  # http(s), any case, a host


def _http_url(value: object) -> object:
    """Take an article's URL only as http(s): it is copied into exports (ClaimReview's ``appearance.url``) as a link."""
    if isinstance(value, str) and not re.fullmatch(HTTP_URL, value):
        scheme = value.split(":", 1)[0][:20] if ":" in value else ""
        refused = f" ({scheme}: is refused)" if scheme and scheme.lower() not in ("http", "https") else ""
        raise ValueError(f"must be an http:// or https:// URL with a host and no spaces{refused}")
    return value


HttpUrlText = Annotated[
    str, StringConstraints(max_length=URL_CHARS, pattern=HTTP_URL), BeforeValidator(_http_url)
]  # the pattern is published in the JSON Schema; the validator says in words what it refuses


class Article(BaseModel):
    """A news article (or any prose) to extract claims from."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = Field(
        default=None, description="Your id for the article; when absent the service derives one from the text."
    )
    title: Annotated[str, StringConstraints(max_length=TITLE_CHARS)] | None = Field(
        default=None, description="Headline, given to the model as read-only context."
    )
    text: NonBlankText = Field(description="The article body. Offsets in the reply index into this string.")
    url: HttpUrlText | None = Field(
        default=None, description="Where the article is published: an http:// or https:// URL (any other is a 422)."
    )
    published_at: IsoDateTime | None = None
    language: LanguageTag | None = Field(
        default=None,
        description="BCP 47 language tag; drives sentence segmentation and the prompt. When absent it is detected "
        "from the text (the reply's `article.language` says what was found), and where the text is too short or "
        "mixed to tell, the configured `default_language` is used with a `language_undetected` warning.",
    )
    metadata: dict[str, Any] = Field(
        default_factory=dict,
        description=f"Up to {METADATA_BYTES // 1024} KB of JSON of yours (UTF-8, nested at most {METADATA_DEPTH} "
        "deep), kept with a job's request; echoed nowhere.",
    )
    format: Literal["auto", "prose", "transcript", "html"] = Field(
        default="auto",
        description=(
            "`transcript`: lines read `SPEAKER: words` and each speaker becomes the claimant of what they say; "
            "`html`: a web page, whose main text is read out (navigation, ads, comments left behind) and returned "
            "as the reply's `article.text`, which the offsets then index into; `auto` detects an HTML document "
            "and upper-case speaker labels; `prose` is plain text, always."
        ),
    )

    @field_validator("metadata")
    @classmethod
    def _metadata_fits(cls, metadata: dict[str, Any]) -> dict[str, Any]:
        """Refuse metadata that could not be stored as UTF-8 JSON (a lone surrogate), too deep or too large."""
        if _depth(metadata) > METADATA_DEPTH:
            raise ValueError(f"metadata nests more than {METADATA_DEPTH} levels deep")
        try:
            size = len(json.dumps(metadata, ensure_ascii=False).encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise ValueError("metadata holds a lone surrogate (\\ud800-\\udfff), which UTF-8 cannot store") from exc
        if size > METADATA_BYTES:
            raise ValueError(f"metadata is {size:,} bytes of JSON; at most {METADATA_BYTES:,}")
        return metadata


class ExtractionOptions(BaseModel):
    """How to extract: which model alias and prompt version, and which claims to keep."""

    model_config = ConfigDict(extra="forbid", strict=True)  # false is no number, 0 no boolean (JSON Schema's types)

    model: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = Field(
        default=None, description="A configured model alias (see GET /v1/models); default: the configured default."
    )
    prompt: PromptRef | None = Field(
        default=None, description="`name@version`, or `name` for its latest released version; default: configured."
    )
    min_checkworthiness: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0
    claim_types: list[ClaimType] | None = Field(default=None, description="Keep only these types; null keeps all.")
    cache: bool = Field(
        default=True, description="Answer from the reply cache; false asks the model again and replaces the entry."
    )
    claim_language: LanguageTag | None = Field(
        default=None,
        description="BCP 47 tag of the language to write the claims' `text` in, when not the article's (their "
        "quotes stay verbatim in the article's). Needs a prompt that knows it (`extract_claims@3` or later; "
        "else a `claim_language_ignored` warning); translated claims' names are not checked against the "
        "article, their numbers are.",
    )
    match_factchecks: bool | None = Field(
        default=None,
        description="Match each claim against the fact-check archive (POST /v1/factchecks) and list the fact-checks "
        "it repeats in the claim's `fact_checks`; null takes the service's `match_factchecks` setting.",
    )


class ExtractionRequest(BaseModel):
    """The body of ``POST /v1/extractions``."""

    model_config = ConfigDict(extra="forbid")

    article: Article
    options: ExtractionOptions = Field(default_factory=ExtractionOptions)


class ClaimSource(BaseModel):
    """Where a claim stands in the article: ``article.text[start:end] == quote``, exactly."""

    quote: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    sentence_ids: list[int] = Field(description="Global sentence ids, S1 being the article's first sentence.")


class Claim(BaseModel):
    """A checkable factual claim, grounded in a verbatim span of the article."""

    id: str = Field(description="Stable: the same claim in the same article always gets the same id.")
    text: str = Field(
        description="The claim in words a reader can follow without the article; context taken from the article "
        'is in square brackets ("[Christine Lagarde] noted that import prices had fallen by 1.9%").'
    )
    type: ClaimType
    claimant: str | None
    attribution: Attribution
    standalone: bool = Field(
        default=False,
        description="True when the text can be understood without the article: no pronoun, demonstrative, "
        '"the company" or unnamed time ("last month") is left that only the article explains '
        "(bracketed context resolves one; a first person is resolved by the claimant). Computed by the service "
        "for every claim, whatever the model (false on a job's claim stored before it was).",
    )
    checkworthiness: float = Field(ge=0.0, le=1.0)
    source: ClaimSource
    chunk: int = Field(ge=1, description="The chunk (1-based) whose model reply produced the claim.")
    model_alias: str = Field(description="The configured alias whose reply produced the claim (a fallback's, if one).")
    model: str = Field(description="That alias's provider model, e.g. `openai/gpt-4o-mini` or `offline/rules`.")
    fact_checks: list[FactCheckMatch] | None = Field(
        default=None,
        description="Fact-checks of the archive this claim repeats (score at or above the match threshold), best "
        "first; an empty list when matching found none; null when matching was not asked for.",
    )


class PromptProvenance(BaseModel):
    """The exact prompt version used."""

    name: str
    version: int
    sha256: str


class ModelProvenance(BaseModel):
    """A model that answered chunks of the article."""

    alias: str = Field(description="The configured alias.")
    model: str = Field(description="Its provider model, e.g. `openai/gpt-4o-mini`.")
    chunks: int = Field(ge=1, description="Chunks (or halves of a split chunk) it answered, from the cache or live.")
    fallback: bool = Field(description="Whether it answered as a fallback of the requested alias.")


class Provenance(BaseModel):
    """What produced the claims: the alias asked for, every model that answered, the prompt version."""

    requested_model: str = Field(description="The alias asked for: `options.model`, else the configured default.")
    models: list[ModelProvenance] = Field(
        description="Every model that answered a chunk, in the order of the model chain (the requested alias first)."
    )
    fallback_used: bool = Field(
        description="True when a fallback answered any chunk: some claims then come from another model than asked."
    )
    prompt: PromptProvenance
    schema_version: str = SCHEMA_VERSION
    service_version: str


class Usage(BaseModel):
    """What the extraction cost."""

    chunks: int = 0
    model_calls: int = 0
    cache_hits: int = 0
    repairs: int = 0
    retries: int = 0
    fallbacks: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = Field(default=0.0, description="Null when a model's price is unknown.")


class Notice(BaseModel):
    """A warning or a chunk error: what happened, where, in words a person can act on."""

    chunk: int | None = None
    code: str
    detail: str


class ReadArticle(BaseModel):
    """The article the claims come from: where it was published, and for an HTML page the text read from it."""

    text: str | None = Field(
        default=None,
        description="For an HTML article, the text read from the page: the claims' offsets index into it. Null for "
        "text articles, whose offsets index into the text sent.",
    )
    title: str | None = Field(default=None, description="The request's title, else an HTML page's headline.")
    url: str | None = None
    published_at: datetime | None = Field(default=None, description="The request's date, else an HTML page's.")
    language: str = Field(
        default="en",
        description="The language the article was read in: the request's `article.language`, else the one detected "
        "(else the configured default, with a `language_undetected` warning).",
    )
    claim_language: str | None = Field(
        default=None,
        description="The language the claims' `text` was asked in (`options.claim_language`) when the prompt "
        "translated them; null when they are in the article's language.",
    )


class ExtractionResult(BaseModel):
    """The 200 reply of ``POST /v1/extractions``."""

    article_id: str
    article: ReadArticle | None = Field(
        default=None,
        description="The article's title, URL, date and language (for ClaimReview), and an HTML page's text.",
    )
    status: Literal["complete", "partial"]
    claims: list[Claim]
    provenance: Provenance
    usage: Usage
    warnings: list[Notice] = Field(default_factory=list)
    errors: list[Notice] = Field(default_factory=list)
