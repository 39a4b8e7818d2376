"""``nerlm serve``: a small OpenAI-compatible chat server over a local transformers model.

Endpoints: ``GET /v1/models`` and ``POST /v1/chat/completions`` (non-streaming; ``messages``,
``max_tokens``, ``temperature`` — 0 is greedy — and ``seed``). The prompt is the tokenizer's
chat template when it has one, else nerlm's plain few-shot layout (user/assistant pairs as
``instruction\\n答案：answer`` blocks). A request may carry a ``nerlm`` member
``{"format", "labels", "text", "options"}``: the answer is then decoded under that output
format's grammar with entity strings grounded in ``text`` (nerlm's token tables and
jump-forward loop), so it always parses. ``response_format`` is accepted and, without a
``nerlm`` member, ignored (the answer is not constrained). Requests are served one at a time.

It exists so that nerlm's HTTP path can be tested against a real server, and so a fine-tuned
model can be put behind the same API as hosted ones; for production serving use vLLM.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["make_server"]


def _prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    if getattr(tokenizer, "chat_template", None):
        out: str = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )
        return out
    from nerlm.generate import build_prompt

    turns = [m for m in messages if m.get("role") != "system"]
    if not turns or turns[-1].get("role") != "user":
        raise ValueError("the last message must be the user's")
    shots = [
        (turns[i]["content"], turns[i + 1]["content"])
        for i in range(0, len(turns) - 1, 2)
        if turns[i].get("role") == "user" and turns[i + 1].get("role") == "assistant"
    ]
    return build_prompt(tokenizer, turns[-1]["content"], shots)


def make_server(model: Any, tokenizer: Any, name: str, host: str, port: int) -> ThreadingHTTPServer:
    """An HTTP server (not yet serving) for ``model``; call ``serve_forever()`` on it."""
    import torch

    from nerlm import _native
    from nerlm.generate import eos_token_ids, generate_constrained, vocabulary_for

    lock = threading.Lock()
    eos = eos_token_ids(tokenizer, model)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token

    def answer(req: dict[str, Any]) -> tuple[str, str, int, int]:
        messages = req.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ValueError("'messages' must be a non-empty list")
        prompt = _prompt(tokenizer, messages)
        max_new = int(req.get("max_tokens") or req.get("max_completion_tokens") or 256)
        temperature = float(req.get("temperature", 1.0) or 0.0)
        enc = tokenizer([prompt], return_tensors="pt", add_special_tokens=True)
        n_prompt = int(enc["input_ids"].shape[1])
        spec = req.get("nerlm")
        with lock, torch.no_grad():
            if isinstance(spec, dict):
                vocab = vocabulary_for(tokenizer, eos)
                table = _native.TokenTable(
                    vocab, str(spec["format"]), [str(x) for x in spec["labels"]],
                    str(spec["text"]), **dict(spec.get("options") or {}),
                )  # fmt: skip
                gen, _ = generate_constrained(
                    model, enc["input_ids"], enc["attention_mask"], [table],
                    eos_token_ids=eos, pad_token_id=tokenizer.pad_token_id,
                    max_new_tokens=max_new, do_sample=temperature > 0,
                    temperature=temperature or 1.0, seed=req.get("seed"), tokenizer=tokenizer,
                )  # fmt: skip
                ids = gen[0]
                stop = next((k for k, t in enumerate(ids) if t in eos), None)
                text = vocab.decode(ids[:stop]).decode("utf-8", errors="replace")
            else:
                kw: dict[str, Any] = {
                    "max_new_tokens": max_new,
                    "pad_token_id": tokenizer.pad_token_id,
                    "eos_token_id": eos,
                }
                if temperature > 0:
                    kw.update(do_sample=True, temperature=temperature)
                else:
                    kw.update(do_sample=False, temperature=None, top_p=None, top_k=None)
                out = model.generate(**enc, **kw)
                ids = out[0, n_prompt:].tolist()
                stop = next((k for k, t in enumerate(ids) if t in eos), None)
                text = tokenizer.decode(ids[:stop], skip_special_tokens=True)
        finish = "stop" if stop is not None else "length"
        return text, finish, n_prompt, len(ids if stop is None else ids[:stop])

    class Handler(BaseHTTPRequestHandler):
        def _send(self, code: int, obj: Any) -> None:
            data = json.dumps(obj, ensure_ascii=False).encode("utf-8")
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def do_GET(self) -> None:
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": name, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                n = int(self.headers.get("Content-Length", "0"))
                req = json.loads(self.rfile.read(n).decode("utf-8"))
                text, finish, n_prompt, n_out = answer(req)
            except (ValueError, KeyError, TypeError) as e:
                self._send(400, {"error": {"message": str(e), "type": "invalid_request_error"}})
                return
            except Exception as e:  # a generation failure is the server's, not the request's
                self._send(500, {"error": {"message": f"{type(e).__name__}: {e}"}})
                return
            self._send(200, {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": name,
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": n_prompt, "completion_tokens": n_out,
                          "total_tokens": n_prompt + n_out},
            })  # fmt: skip

    return ThreadingHTTPServer((host, port), Handler)
