"""Sampling parameters, validated on construction, and the server's named presets."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import attrs

from ._exceptions import InvalidResponseError
from ._values import _mapping, _opt_str, _str, _Value

__all__ = ["PRESETS", "Preset", "SamplingParameters"]


def _check_number(
    name: str, value: object, *, integer: bool, low: float, low_inclusive: bool, high: float | None
) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int if integer else (int, float)):
        kind = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be {kind} or None, not {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, not {value!r}")
    too_low = value < low if low_inclusive else value <= low
    if too_low or (high is not None and value > high):
        lo = f"{'>=' if low_inclusive else '>'} {low:g}"
        rng = f"{lo} and <= {high:g}" if high is not None else lo
        raise ValueError(f"{name} must be {rng}, not {value!r}")


def _validate_sampling(
    instance: SamplingParameters, attribute: attrs.Attribute[Any], value: Any
) -> None:
    # Ranges: docs/design.md, decision 13. The server itself checks none (docs/protocol.md 4.1).
    name = attribute.name
    if name == "top_k":
        _check_number(name, value, integer=True, low=1, low_inclusive=True, high=None)
    elif name in ("top_p", "typical_p"):
        _check_number(name, value, integer=False, low=0, low_inclusive=False, high=1)
    elif name in ("temperature", "repetition_penalty"):
        _check_number(name, value, integer=False, low=0, low_inclusive=False, high=None)
    elif name == "max_new_tokens":
        _check_number(name, value, integer=True, low=1, low_inclusive=True, high=None)


@attrs.frozen(kw_only=True)
class SamplingParameters(_Value):
    """How the model samples its reply (docs/protocol.md 4.1), validated on construction.

    ``None`` means "the server's default" for the first five fields; a ``None``
    ``max_new_tokens`` is left out of the request (the server rejects ``null`` with 422 and
    uses 1024 when the field is absent).

    Attributes:
        top_k: Sample from the k most likely tokens; an integer >= 1.
        top_p: Nucleus sampling: the smallest set of tokens whose probability reaches p; in (0, 1].
        typical_p: Typical sampling mass; in (0, 1].
        temperature: Randomness; > 0 (lower is more deterministic).
        repetition_penalty: Penalty for repeated tokens; > 0 (1 is none).
        max_new_tokens: The most tokens to generate; an integer >= 1 (the worker may lower it
            to fit the model's context, docs/protocol.md 4.1).

    Raises:
        ValueError: A value is of the wrong type or out of range.
    """

    top_k: int | None = attrs.field(default=None, validator=_validate_sampling)
    top_p: float | None = attrs.field(default=None, validator=_validate_sampling)
    typical_p: float | None = attrs.field(default=None, validator=_validate_sampling)
    temperature: float | None = attrs.field(default=None, validator=_validate_sampling)
    repetition_penalty: float | None = attrs.field(default=None, validator=_validate_sampling)
    max_new_tokens: int | None = attrs.field(default=None, validator=_validate_sampling)

    @classmethod
    def preset(cls, name: str) -> SamplingParameters:
        """Return one of the server's presets by name, e.g. ``"k50"`` (docs/protocol.md 4.2).

        Raises:
            ValueError: There is no preset of that name.
        """
        try:
            return PRESETS[name].sampling_parameters
        except KeyError:
            known = ", ".join(PRESETS)
            raise ValueError(f"unknown preset {name!r}; known presets: {known}") from None

    def replace(self, **changes: Any) -> SamplingParameters:
        """Return a copy with some fields changed (validated again)."""
        return attrs.evolve(self, **changes)

    def to_json(self) -> dict[str, Any]:
        """Return the request JSON: the five nullable fields always, ``max_new_tokens`` if set.

        ``from_json`` reads it back to an equal object; ``to_dict()`` has all six fields.
        """
        out: dict[str, Any] = {
            "top_k": self.top_k,
            "top_p": self.top_p,
            "typical_p": self.typical_p,
            "temperature": self.temperature,
            "repetition_penalty": self.repetition_penalty,
        }
        if self.max_new_tokens is not None:
            out["max_new_tokens"] = self.max_new_tokens
        return out

    @classmethod
    def from_json(cls, obj: object) -> SamplingParameters:
        """Build from server JSON without validation: what the server stored is a fact."""
        data = _mapping(obj, "sampling_parameters")
        instance = cls.__new__(cls)
        for field in attrs.fields(cls):
            value = data.get(field.name)
            if value is not None and not isinstance(value, (int, float)):
                raise InvalidResponseError(f"sampling_parameters.{field.name} is not a number")
            object.__setattr__(instance, field.name, value)
        return instance


@attrs.frozen(kw_only=True)
class Preset(_Value):
    """A named set of sampling parameters that the server offers (docs/protocol.md 4.2).

    Attributes:
        name: The preset's name, e.g. ``k50``.
        description: The server's description of it.
        sampling_parameters: Its values.
    """

    name: str
    description: str = ""
    sampling_parameters: SamplingParameters

    @classmethod
    def from_json(cls, obj: object) -> Preset:
        """Build from one item of a model config's ``parameter_configs``."""
        data = _mapping(obj, "parameter config")
        return cls(
            name=_str(data, "name"),
            description=_opt_str(data, "description") or "",
            sampling_parameters=SamplingParameters.from_json(data.get("sampling_parameters", {})),
        )


def _preset(name: str, description: str, **values: Any) -> Preset:
    return Preset(
        name=name,
        description=description,
        sampling_parameters=SamplingParameters(max_new_tokens=1024, **values),
    )


#: The eight presets every model config offers, in the server's order (docs/protocol.md 4.2).
PRESETS: Mapping[str, Preset] = {
    p.name: p
    for p in (
        _preset("k50", "Top-k sampling with k=50", top_k=50, top_p=0.95, temperature=0.75, repetition_penalty=1.2),
        _preset("k50-Creative", "Top-k sampling with k=50, higher temperature", top_k=50, top_p=0.95, temperature=0.85, repetition_penalty=1.2),
        _preset("k50-Precise", "Top-k sampling with k=50, low temperature", top_k=50, top_p=0.95, temperature=0.1, repetition_penalty=1.2),
        _preset("k50-Original", "Top-k sampling with k=50, highest temperature", top_k=50, top_p=0.95, temperature=0.9, repetition_penalty=1.2),
        _preset("k50-Plugins", "Top-k sampling with k=50 and temperature=0.35", top_k=50, temperature=0.35, repetition_penalty=1 / 0.9),
        _preset("nucleus9", "Nucleus sampling with p=0.9", top_p=0.9, temperature=0.8, repetition_penalty=1.2),
        _preset("typical2", "Typical sampling with p=0.2", typical_p=0.2, temperature=0.8, repetition_penalty=1.2),
        _preset("typical3", "Typical sampling with p=0.3", typical_p=0.3, temperature=0.8, repetition_penalty=1.2),
    )
}  # fmt: skip
