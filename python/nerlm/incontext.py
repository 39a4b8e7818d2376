"""In-context extraction: zero- and k-shot prompts, demonstrations chosen from a labelled pool,
answered by a local causal LM or by any OpenAI-compatible HTTP endpoint (DeepKE's in-context
mode, with nerlm's parsers and aligner on the answers).

Demonstrations (:class:`DemonstrationPool`):

* ``"random"``: ``k`` pool examples drawn with a generator seeded by ``(seed, document id)``,
  so a document gets the same demonstrations in every run and on every shard;
* ``"similarity"``: the ``k`` pool examples with the highest character n-gram overlap with the
  document — Dice coefficient ``2 |A ∩ B| / (|A| + |B|)`` over the multisets of character
  ``n``-grams (``n = 2`` by default), ties broken by pool order (as in retrieval-based
  demonstration selection, e.g. Liu et al., 2022, "What Makes Good In-Context Examples for
  GPT-3?", with lexical instead of embedding similarity). A pool example with the document's
  own text is never its demonstration.

HTTP (:class:`ChatClient`): ``POST {api_base}/chat/completions`` with the demonstrations as
user/assistant turns and the document's instruction last, ``temperature`` 0. For
``iepile-json`` the request carries a JSON-schema ``response_format`` (an object whose keys are
the schema's labels, each a list of strings); a server that rejects it (HTTP 400 naming
``response_format``) is asked again without it, once per client. With ``nerlm_grammar=True``
the request also carries a ``nerlm`` member (format, labels, text) that ``nerlm serve``
uses to decode under nerlm's grammar and grounding; other servers ignore or reject it. The API
key is read from an environment variable (``OPENAI_API_KEY`` by default), never from the
command line.

Answers are parsed by the output format's parser; entity strings that are not exact
substrings of the text get a second, lenient placement (:meth:`nerlm.AlignOptions.lenient`:
NFKC, case, whitespace, then fuzzy ≥ 0.8), so their status says ``normalised`` or ``fuzzy``.
"""

from __future__ import annotations

import json
import os
import random
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

from nerlm.align import AlignOptions, AlignStatus, align
from nerlm.data.model import Example
from nerlm.errors import NerlmError
from nerlm.formats.base import OutputFormat, ParsedEntity

__all__ = [
    "ChatClient",
    "DemonstrationPool",
    "extract_incontext",
    "response_schema",
]

Selection = Literal["random", "similarity"]


def _ngrams(text: str, n: int) -> Counter[str]:
    if len(text) < n:
        return Counter([text]) if text else Counter()
    return Counter(text[i : i + n] for i in range(len(text) - n + 1))


@dataclass
class DemonstrationPool:
    """Labelled examples to draw demonstrations from (module docs).

    Args:
        examples: The pool (e.g. the training split).
        n: Character n-gram size for ``"similarity"``.
    """

    examples: Sequence[Example]
    n: int = 2
    _profiles: list[Counter[str]] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError("n must be at least 1")
        self._profiles = [_ngrams(ex.text, self.n) for ex in self.examples]

    def select(
        self, doc: Example, k: int, selection: Selection = "random", seed: int = 0
    ) -> list[Example]:
        """``k`` demonstrations for ``doc`` (fewer if the pool is smaller).

        Raises:
            ValueError: Unknown ``selection`` or negative ``k``.
        """
        if k < 0:
            raise ValueError("k must be non-negative")
        cands = [i for i, ex in enumerate(self.examples) if ex.text != doc.text]
        if k == 0 or not cands:
            return []
        if selection == "random":
            rng = random.Random(f"{seed}:{doc.id}")
            return [self.examples[i] for i in sorted(rng.sample(cands, min(k, len(cands))))]
        if selection != "similarity":
            raise ValueError(f"selection must be 'random' or 'similarity', not {selection!r}")
        q = _ngrams(doc.text, self.n)
        qn = sum(q.values())

        def dice(i: int) -> float:
            p = self._profiles[i]
            total = qn + sum(p.values())
            return 2 * sum((q & p).values()) / total if total else 0.0

        ranked = sorted(cands, key=lambda i: (-dice(i), i))
        return [self.examples[i] for i in ranked[:k]]


def response_schema(fmt: OutputFormat, names: Sequence[str]) -> dict[str, Any] | None:
    """The OpenAI ``response_format`` for ``fmt`` with schema names ``names``, or None when
    the format's answer is not one JSON object (only ``iepile-json`` has one)."""
    if fmt.name != "iepile-json":
        return None
    props = {n: {"type": "array", "items": {"type": "string"}} for n in names}
    schema = {
        "type": "object",
        "properties": props,
        "required": list(names),
        "additionalProperties": False,
    }
    return {
        "type": "json_schema",
        "json_schema": {"name": "entities", "schema": schema, "strict": True},
    }


class ChatClient:
    """A minimal client of an OpenAI-compatible ``/chat/completions`` endpoint (stdlib only).

    Args:
        api_base: The base URL, e.g. ``http://127.0.0.1:8000/v1``.
        model: The model name sent with each request.
        api_key_env: Environment variable holding the API key (may be unset for local
            servers).
        timeout: Seconds per request.
        max_tokens: Generation budget per answer.
        nerlm_grammar: Send the ``nerlm`` member (module docs).
    """

    def __init__(
        self,
        api_base: str,
        model: str,
        *,
        api_key_env: str = "OPENAI_API_KEY",
        timeout: float = 120.0,
        max_tokens: int = 512,
        nerlm_grammar: bool = False,
    ) -> None:
        self.url = api_base.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key = os.environ.get(api_key_env)
        self.timeout = timeout
        self.max_tokens = max_tokens
        self.nerlm_grammar = nerlm_grammar
        self.schema_supported = True

    def complete(
        self,
        messages: list[dict[str, str]],
        *,
        response_format: dict[str, Any] | None = None,
        nerlm: dict[str, Any] | None = None,
    ) -> str:
        """The assistant's answer to ``messages``.

        Raises:
            NerlmError: The server could not be reached, answered with an HTTP error (its
                status and body), or sent no answer.
        """
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        if response_format is not None and self.schema_supported:
            body["response_format"] = response_format
        if nerlm is not None and self.nerlm_grammar:
            body["nerlm"] = nerlm
        try:
            reply = self._post(body)
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            if e.code == 400 and "response_format" in body and "response_format" in detail:
                self.schema_supported = False
                del body["response_format"]
                reply = self._post(body)
            else:
                raise NerlmError(f"{self.url}: HTTP {e.code}: {detail[:300]}") from None
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise NerlmError(f"{self.url}: no answer in {json.dumps(reply)[:300]}") from None
        return str(content or "")

    def _post(self, body: dict[str, Any]) -> Any:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(
            self.url, json.dumps(body, ensure_ascii=False).encode(), headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as r:
                return json.loads(r.read().decode("utf-8"))
        except urllib.error.URLError as e:
            if isinstance(e, urllib.error.HTTPError):
                raise
            raise NerlmError(f"{self.url}: {e.reason}") from None


def _place_leniently(text: str, ents: list[ParsedEntity]) -> list[ParsedEntity]:
    out = []
    for e in ents:
        placed = e
        if e.status is AlignStatus.UNGROUNDED and e.text:
            (p,) = align(text, [(e.text, 0)], AlignOptions.lenient())
            if p.status is not AlignStatus.UNGROUNDED:
                placed = ParsedEntity(e.label, e.text, p.start, p.end, p.status)
        out.append(placed)
    return out


def extract_incontext(
    examples: Sequence[Example],
    labels: Sequence[str],
    *,
    fmt: OutputFormat,
    pool: DemonstrationPool | None = None,
    k: int = 0,
    selection: Selection = "random",
    seed: int = 0,
    client: ChatClient | None = None,
    model: Any = None,
    tokenizer: Any = None,
    system: str | None = None,
    workers: int = 4,
    lenient_alignment: bool = True,
    grammar_options: dict[str, Any] | None = None,
    **extract_kwargs: Any,
) -> list[Any]:
    """Zero-shot (``k = 0``) or k-shot extraction, through ``client`` or a local model.

    Args:
        examples: Documents.
        labels: Corpus labels, in schema order.
        fmt: The output format the answers are asked in and parsed with.
        pool: Labelled examples to draw demonstrations from (needed when ``k > 0``).
        k: Demonstrations per document.
        selection: ``"random"`` or ``"similarity"`` (module docs).
        seed: Seed of the random selection.
        client: An OpenAI-compatible endpoint; or give ``model`` and ``tokenizer``.
        model: A local transformers causal LM (then :func:`nerlm.extract` runs, constrained
            and grounded unless ``extract_kwargs`` say otherwise).
        tokenizer: Its tokenizer.
        system: A system message for the HTTP path.
        workers: Concurrent HTTP requests.
        lenient_alignment: Place non-exact entity strings leniently (module docs).
        grammar_options: Extra token-table options sent in the ``nerlm`` member
            (``max_entities_per_label``, ``max_entity_chars``, ``grounded``).
        **extract_kwargs: Passed to :func:`nerlm.extract` on the local path.

    Returns:
        One :class:`nerlm.Extraction` per document, in order.

    Raises:
        ValueError: Neither or both of ``client`` and ``model``; ``k > 0`` without a pool.
        NerlmError: An HTTP request failed.
    """
    from nerlm.generate import Extraction

    if (client is None) == (model is None):
        raise ValueError("give exactly one of client and model")
    if k > 0 and pool is None:
        raise ValueError("k > 0 needs a demonstration pool")
    shots = [pool.select(ex, k, selection, seed) if pool else [] for ex in examples]
    if model is not None:
        from nerlm.generate import extract

        res: list[Any] = extract(
            model, tokenizer, examples, labels, fmt=fmt, shots_per_example=shots, **extract_kwargs
        )
        if lenient_alignment:
            for r in res:
                r.entities = _place_leniently(r.text, r.entities)
        return res
    assert client is not None
    chunks = fmt.chunks(labels)

    def one(i: int) -> Any:
        ex = examples[i]
        t0 = time.perf_counter()
        r = Extraction(ex.id, ex.text)
        for chunk in chunks:
            names = [fmt.schema_name(lab) for lab in chunk]
            messages = [{"role": "system", "content": system}] if system else []
            for s in shots[i]:
                messages.append({"role": "user", "content": fmt.render_prompt(s, chunk)})
                messages.append({"role": "assistant", "content": fmt.render_target(s, chunk)})
            messages.append({"role": "user", "content": fmt.render_prompt(ex, chunk)})
            nerlm_member = {
                "format": fmt.name, "labels": names, "text": ex.text,
                "options": {**fmt.grammar_options(), **(grammar_options or {})},
            }  # fmt: skip
            raw = client.complete(
                messages, response_format=response_schema(fmt, names), nerlm=nerlm_member
            )
            r.raw_outputs.append(raw)
            parsed = fmt.parse(raw, ex.text, chunk)
            if parsed.error is not None:
                r.parse_errors.append(parsed.error)
            ents = parsed.entities
            r.entities.extend(_place_leniently(ex.text, ents) if lenient_alignment else ents)
        r.seconds = time.perf_counter() - t0
        return r

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool_exec:
        return list(pool_exec.map(one, range(len(examples))))


def make_extractor(
    labels: Sequence[str], **kwargs: Any
) -> Callable[[Sequence[Example]], list[Any]]:
    """A function of documents for :func:`nerlm.run.extract_to_file` (``extractor=``)."""

    def run(units: Sequence[Example]) -> list[Any]:
        return extract_incontext(units, labels, **kwargs)

    return run
