"""Static protocol data: upstream model configs (4.3), sampling presets (4.2), lorem words.

Copied in substance from `oasst_shared/model_configs.py` and `routes/configs.py`; the preset
names and description strings are exactly those of golden 01 #30.
"""

from __future__ import annotations

from typing import Any

import attrs

__all__ = [
    "DEFAULT_MODEL",
    "ECHO_MODEL_CONFIG",
    "LOREM_WORDS",
    "PRESETS",
    "UPSTREAM_MODEL_CONFIGS",
    "ModelConfig",
    "sampling_defaults",
]


@attrs.frozen(kw_only=True)
class ModelConfig:
    """One model config as upstream serializes it inside `work_parameters` (4.3)."""

    model_id: str
    max_input_length: int = 512
    max_total_length: int = 1024
    quantized: bool = False

    @property
    def compat_hash(self) -> str:
        """Return the key upstream uses to match messages to workers (4.3)."""
        q = "q" if self.quantized else "f"
        return f"{self.model_id}-{self.max_total_length}-{self.max_input_length}-{q}"

    def to_json(self) -> dict[str, Any]:
        """Return the JSON object in upstream's key order."""
        return {
            "model_id": self.model_id,
            "max_input_length": self.max_input_length,
            "max_total_length": self.max_total_length,
            "quantized": self.quantized,
        }


def _mc(model_id: str, inp: int, total: int, quantized: bool = False) -> ModelConfig:
    return ModelConfig(
        model_id=model_id, max_input_length=inp, max_total_length=total, quantized=quantized
    )


_P12 = "OpenAssistant/oasst-sft-1-pythia-12b"
_P12_4 = "OpenAssistant/oasst-sft-4-pythia-12b-epoch-3.5"
_L13 = "OpenAssistant/oasst_sft_llama_13b_mask_1500"
_L30 = "OpenAssistant/llama_30b_oasst_latcyr_1000"
_L30_2 = "OpenAssistant/llama_30b_oasst_latcyr_400"
_L30_5 = "OpenAssistant/oasst-sft-5-llama-30b-epoch-1"
_L30_6 = "OpenAssistant/oasst-sft-6-llama-30b"
_L30_7 = "OpenAssistant/oasst-sft-7-llama-30b"
_CARPER = "CarperAI/vicuna-13b-fine-tuned-rlhf"

#: Every model config name upstream knows, in upstream's order (4.3).
UPSTREAM_MODEL_CONFIGS: dict[str, ModelConfig] = {
    "_lorem": _mc("_lorem", 128, 256),
    "distilgpt2": _mc("distilgpt2", 512, 1024),
    "OA_SFT_Pythia_12B": _mc(_P12, 1024, 2048),
    "OA_SFT_Pythia_12Bq": _mc(_P12, 1024, 2048, True),
    "OA_SFT_Pythia_12B_4": _mc(_P12_4, 1024, 2048),
    "OA_SFT_Pythia_12Bq_4": _mc(_P12_4, 1024, 2048, True),
    "OA_SFT_Llama_7B": _mc("OpenAssistant/oasst_sft_llama_7b_mask_1000", 1024, 2048),
    "OA_SFT_Llama_13B": _mc(_L13, 1024, 2048),
    "OA_SFT_Llama_13Bq": _mc(_L13, 1024, 2048, True),
    "OA_SFT_Llama_30B": _mc(_L30, 1024, 1792),
    "OA_SFT_Llama_30Bq": _mc(_L30, 1024, 1792, True),
    "OA_SFT_Llama_30B_2": _mc(_L30_2, 1024, 1792),
    "OA_SFT_Llama_30Bq_2": _mc(_L30_2, 1024, 1792, True),
    "OA_SFT_Llama_30B_5": _mc(_L30_5, 1024, 1792),
    "OA_SFT_Llama_30Bq_5": _mc(_L30_5, 1024, 1792, True),
    "OA_SFT_Llama_30B_6": _mc(_L30_6, 1024, 1792),
    "OA_SFT_Llama_30Bq_6": _mc(_L30_6, 1024, 1792, True),
    "OA_SFT_Llama_30B_7": _mc(_L30_7, 1024, 1792),
    "OA_SFT_Llama_30Bq_7": _mc(_L30_7, 1024, 1792, True),
    "OA_SFT_Llama_30B_7e3": _mc("OpenAssistant/oasst-sft-7e3-llama-30b", 1024, 1792),
    "OA_RLHF_Llama_30B_2_7k": _mc("OpenAssistant/oasst-rlhf-2-llama-30b-7k-steps", 1024, 1792),
    "Carper_RLHF_13B_1": _mc(_CARPER, 1024, 2048),
    "Carper_RLHF_13Bq_1": _mc(_CARPER, 1024, 2048, True),
    "OA_SFT_Llama2_70B_10": _mc("OpenAssistant/llama2-70b-oasst-sft-v10", 3072, 4096),
    "OA_SFT_CodeLlama_13B_10": _mc("OpenAssistant/codellama-13b-oasst-sft-v10", 8192, 12288),
}

#: The model config the SDK and the seed's provider ask for when none is named.
DEFAULT_MODEL = "OA_SFT_Llama_30B_6"

#: The local server's own no-weights model: it repeats the prompter message.
ECHO_MODEL_CONFIG = _mc("echo", 1024, 2048)


def sampling_defaults() -> dict[str, Any]:
    """Return upstream's `SamplingParameters()` defaults, in field order (4.1)."""
    return {
        "top_k": None,
        "top_p": None,
        "typical_p": None,
        "temperature": None,
        "repetition_penalty": None,
        "max_new_tokens": 1024,
    }


def _preset(name: str, description: str, **values: Any) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "sampling_parameters": {**sampling_defaults(), **values},
    }


#: The eight presets every model config lists (4.2, golden 01 #30).
PRESETS: tuple[dict[str, Any], ...] = (
    _preset("k50", "Top-k sampling with k=50", top_k=50, top_p=0.95, temperature=0.75, repetition_penalty=1.2),
    _preset("k50-Creative", "Top-k sampling with k=50, higher temperature", top_k=50, top_p=0.95, temperature=0.85, repetition_penalty=1.2),
    _preset("k50-Precise", "Top-k sampling with k=50, low temperature", top_k=50, top_p=0.95, temperature=0.1, repetition_penalty=1.2),
    _preset("k50-Original", "Top-k sampling with k=50, highest temperature", top_k=50, top_p=0.95, temperature=0.9, repetition_penalty=1.2),
    _preset("k50-Plugins", "Top-k sampling with k=50 and temperature=0.35", top_k=50, temperature=0.35, repetition_penalty=1 / 0.90),
    _preset("nucleus9", "Nucleus sampling with p=0.9", top_p=0.9, temperature=0.8, repetition_penalty=1.2),
    _preset("typical2", "Typical sampling with p=0.2", temperature=0.8, typical_p=0.2, repetition_penalty=1.2),
    _preset("typical3", "Typical sampling with p=0.3", temperature=0.8, typical_p=0.3, repetition_penalty=1.2),
)  # fmt: skip

#: The word list of the `lorem` package that upstream's `_lorem` worker draws from (6).
LOREM_WORDS: tuple[str, ...] = (
    "adipisci", "aliquam", "amet", "consectetur", "dolor", "dolore", "dolorem", "eius",
    "est", "etincidunt", "ipsum", "labore", "magnam", "modi", "neque", "non", "numquam",
    "porro", "quaerat", "quiquia", "quisquam", "sed", "sit", "tempora", "ut", "velit",
    "voluptatem",
)  # fmt: skip
