"""nerlm's constrained, grounded decoding as an outlines 1.3.x logits processor.

outlines builds its own vocabularies from decoded token strings, which turns tokens holding
part of a UTF-8 character into U+FFFD. :class:`NerlmOutlinesProcessor` uses nerlm's token
tables instead (exact token bytes, see :func:`nerlm.vocabulary_for`) and plugs them into
outlines as a custom processor::

    import outlines
    from nerlm.outlines_processor import NerlmOutlinesProcessor

    model = outlines.from_transformers(hf_model, hf_tokenizer)
    vocab = nerlm.vocabulary_for(hf_tokenizer, nerlm.generate.eos_token_ids(hf_tokenizer, hf_model))
    tables = [nerlm.TokenTable(vocab, "iepile-json", labels, text) for text in texts]
    generator = outlines.Generator(model, processor=NerlmOutlinesProcessor(tables))
    outputs = generator.batch(prompts, max_new_tokens=400, eos_token_id=vocab.eos_token_ids)

How outlines 1.3.3 drives it (``outlines/generator.py``, ``outlines/models/transformers.py``):
``SteerableGenerator.__call__``/``batch`` call :meth:`reset` and then pass the processor,
wrapped in a ``transformers.LogitsProcessorList``, to ``hf_model.generate``; transformers calls
it once per step with the whole sequences so far (left-padded prompt included) and float32
logits; outlines' base ``__call__`` checks shapes and calls :meth:`process_logits`. Outputs are
decoded by outlines with ``tokenizer.batch_decode(..., skip_special_tokens=True)``, not with
nerlm's bytes: for byte-level BPE tokenizers both agree on every output that ended with
end-of-sequence (the output is then valid UTF-8). outlines applies the tokenizer's chat
template to a ``str`` prompt itself, so pass the bare instruction (not
:func:`nerlm.generate.build_prompt`'s output) when the tokenizer has one. outlines passes no
``eos_token_id`` to ``generate``: the model's generation config decides where rows stop, so
give ``eos_token_id`` (the vocabulary's end-of-sequence ids) when it has none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nerlm import _native

try:
    from outlines.processors.base_logits_processor import OutlinesLogitsProcessor

    from nerlm.generate import ConstrainedLogitsProcessor
except ImportError as e:
    raise ImportError(
        "nerlm.outlines_processor needs outlines 1.3.x, torch and transformers: "
        f"pip install 'nerlm[outlines]' ({e})"
    ) from e

__all__ = ["NerlmOutlinesProcessor"]

_TENSOR_LIBRARIES = ("torch", "numpy")


class NerlmOutlinesProcessor(OutlinesLogitsProcessor):
    """An outlines logits processor that keeps each sequence inside its nerlm token table.

    Pass it as ``outlines.Generator(model, processor=NerlmOutlinesProcessor(tables))``. At
    every step it fills nerlm's bitmask for all rows at once
    (:func:`nerlm.fill_next_token_bitmask_batch`, an int32 array ``[batch, ceil(width / 32)]``)
    and sets the logits of every token whose bit is 0 to ``-inf``; ids at or beyond the
    vocabulary's size are always masked.

    Sequence tracking is :meth:`nerlm.ConstrainedLogitsProcessor.matchers_for`: the prompt
    length is the input length at the first call after :meth:`reset`, and each row's matcher is
    keyed by its generated tokens, so rows may be reordered (beam search) or repeated
    (``num_return_sequences``). Rows that produced an end-of-sequence token allow only
    end-of-sequence tokens afterwards (padding after them is ignored).

    Args:
        tables: One :class:`nerlm.TokenTable` per prompt of the batch, in prompt order. With
            ``num_return_sequences=n`` the batch has ``n * len(tables)`` rows and row ``i``
            uses ``tables[i // n]``. A table's vocabulary must list every id that stops
            generation as end-of-sequence (build it with
            ``nerlm.vocabulary_for(tokenizer, nerlm.generate.eos_token_ids(tokenizer, model))``).
        tensor_library_name: The model's tensor library (``model.tensor_library_name`` of the
            outlines model): ``"torch"`` (transformers) or ``"numpy"`` (llama.cpp).

    Raises:
        ValueError: ``tables`` is empty.
        NotImplementedError: ``tensor_library_name`` is not ``"torch"`` or ``"numpy"``.

    Shapes: ``input_ids`` ``[batch, length]`` (the prompt included, as transformers passes
    it); ``logits`` ``[batch, width]`` with ``width`` the model's logits width (151,936 for
    Qwen2.5), which may exceed the tokenizer's size. ``batch`` must be a multiple of
    ``len(tables)``.

    The processor is single-use per generation: outlines calls :meth:`reset` before every
    ``generate``; call it yourself when driving ``model.generate`` directly.
    """

    def __init__(
        self, tables: Sequence[_native.TokenTable], tensor_library_name: str = "torch"
    ) -> None:
        if tensor_library_name not in _TENSOR_LIBRARIES:
            raise NotImplementedError(
                f"tensor library {tensor_library_name!r} is not supported; "
                f"use one of {', '.join(_TENSOR_LIBRARIES)}"
            )
        self.tracker = ConstrainedLogitsProcessor(tables)
        self.tensor_library_name = tensor_library_name
        self._last_ids: Any = None
        if tensor_library_name == "torch":
            import torch._dynamo

            # outlines' base class sets ``suppress_errors = True`` process-wide (for its own
            # compiled kernels); nerlm compiles nothing, so keep the caller's setting.
            suppress_errors = torch._dynamo.config.suppress_errors
            super().__init__(tensor_library_name)
            torch._dynamo.config.suppress_errors = suppress_errors
        else:
            super().__init__(tensor_library_name)

    @property
    def tables(self) -> list[_native.TokenTable]:
        """The token tables, one per prompt."""
        return self.tracker.tables

    @property
    def steps(self) -> int:
        """Decoding steps since the last :meth:`reset`."""
        return self.tracker.steps

    def reset(self) -> None:
        """Forget all sequences; outlines calls this before every generation."""
        self.tracker.reset()
        self._last_ids = None

    def outputs(self) -> list[bytes]:
        """nerlm's exact output bytes of every row, as of the last call (after generation).

        outlines returns text decoded by the tokenizer; these are the bytes the token tables
        saw. Rows that ended with end-of-sequence are complete (the token sampled at the last
        step adds no bytes when it is end-of-sequence); a row cut off by ``max_new_tokens``
        lacks its last token. Rows are in the batch order of the last call (prompt-major with
        ``num_return_sequences``); after beam search they are beams, not the returned
        sequences. Empty before the first call.
        """
        if self._last_ids is None:
            return []
        return [m.output() for m in self.tracker.matchers_for(self._last_ids)]

    def process_logits(self, input_ids: Any, logits: Any) -> Any:
        """Mask the logits of every token not allowed next.

        Args:
            input_ids: ``[batch, length]`` token ids so far, the prompt included (a
                ``torch.Tensor`` or a ``numpy`` array, per ``tensor_library_name``).
            logits: ``[batch, width]`` next-token logits of the same library.

        Returns:
            The logits with ``-inf`` at every disallowed id, ``[batch, width]``, on the
            device of ``logits`` (a new tensor; the input is not modified).

        Raises:
            ValueError: ``batch`` is not a multiple of the number of tables.
            RuntimeError: A row's history is unknown (reused without :meth:`reset`).
            nerlm.TokenRejectedError: A row holds a token its table does not allow (the
                processor was not applied at every step).
        """
        self._last_ids = input_ids  # matchers_for is idempotent for the same ids
        if self.tensor_library_name == "torch":
            # ConstrainedLogitsProcessor.__call__ does the bitmask on the logits' device.
            return self.tracker(input_ids, logits)
        matchers = self.tracker.matchers_for(input_ids)
        batch, width = logits.shape
        bitmask = np.zeros((batch, math.ceil(width / 32)), dtype=np.int32)
        _native.fill_next_token_bitmask_batch(matchers, bitmask)
        self.tracker.steps += 1
        # Bit j of word w is token 32 * w + j: read the words as little-endian bytes.
        bits = bitmask.astype("<i4", copy=False).view(np.uint8)
        allowed = np.unpackbits(bits, axis=1, bitorder="little")[:, :width].astype(bool)
        return np.where(allowed, logits, np.asarray(-np.inf, dtype=logits.dtype))
