"""Settings, read once from the environment (``OPENFT_*``) and the command line, then passed down."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

BUILTIN_MODEL = "SmolLM2-135M-Instruct"
SETTINGS_ENV = "OPENFT_SETTINGS_JSON"  # how a worker hands its settings to a training process


class KeyGrant(BaseModel):
    """What one API key may touch: every object belongs to a project of an organization."""

    organization: str = "org-openft"
    organization_name: str | None = None  # the slug in ft: names; defaults to the id without "org-"
    project: str = "proj_default"

    @property
    def slug(self) -> str:
        return self.organization_name or self.organization.removeprefix("org-")


class BaseModelConfig(BaseModel):
    """A model that can be fine-tuned: the built-in one, a Hugging Face hub id or a local path."""

    source: str = "builtin"
    full_finetune: bool = False
    base_learning_rate: float | None = None  # None: 2e-4 for LoRA, 2e-5 for a full fine-tune
    context_length: int = 2048
    created: int = 1730419200
    owned_by: str = "openft"


def _default_aliases() -> dict[str, str]:
    snapshots = {
        "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
        "gpt-4o": "gpt-4o-2024-08-06",
        "gpt-4.1": "gpt-4.1-2025-04-14",
        "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
        "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
        "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
        "o4-mini": "o4-mini-2025-04-16",
    }
    aliases = dict(snapshots)
    for snapshot in [*snapshots.values(), "babbage-002", "davinci-002", "gpt-3.5-turbo-1106"]:
        aliases[snapshot] = BUILTIN_MODEL
    return aliases


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENFT_", env_nested_delimiter="__")

    data_dir: Path = Path("data")
    database_url: str | None = None  # default: sqlite file in the data dir
    host: str = "127.0.0.1"
    port: int = 8000
    # Bearer key -> grant. Empty: any key is accepted (loopback only) as the default grant.
    api_keys: dict[str, KeyGrant] = Field(default_factory=dict)
    max_upload_bytes: int = 512 * 1024 * 1024
    max_part_bytes: int = 64 * 1024 * 1024
    max_multipart_upload_bytes: int = 8 * 1024 * 1024 * 1024
    upload_expiry_seconds: int = 3600
    base_models: dict[str, BaseModelConfig] = Field(
        default_factory=lambda: {BUILTIN_MODEL: BaseModelConfig()}
    )
    # OpenAI model name -> dated snapshot or base model id (followed until a base model).
    model_aliases: dict[str, str] = Field(default_factory=_default_aliases)
    validator_poll_seconds: float = 1.0
    # Workers: `openft serve` embeds one unless embedded_worker is false; `openft worker` runs more.
    embedded_worker: bool = True
    max_concurrent_jobs: int = 1
    worker_poll_seconds: float = 1.0
    # Training processes each worker starts ahead, with the ML stack imported, to take its next job
    # (trainers.py): a job's first step comes seconds sooner. 0: a process is started for each job.
    standby_trainers: int = Field(default=1, ge=0)
    heartbeat_seconds: float = 5.0
    stale_after_seconds: int = 60
    stop_grace_seconds: float = 10.0  # after cancel/pause, how long the trainer gets before a signal
    # On SIGTERM, how long a worker's trainers get to save their state before they are killed.
    shutdown_grace_seconds: float = 30.0
    # Resumable training states (weights, optimizer, scheduler, RNG, data position), besides those
    # saved at each checkpoint, pause and shutdown: every so many seconds and every so many steps
    # (0 turns a measure off). A job whose trainer, worker or server dies continues from the latest.
    state_interval_seconds: float = 300.0
    state_interval_steps: int = 0
    # Training and serving numerics: auto picks bfloat16 where the hardware runs it fast (a GPU with
    # bfloat16, a CPU with AMX) and float32 elsewhere (lm/numerics.py); the job's events say which.
    compute_dtype: Literal["auto", "float32", "bfloat16"] = "auto"
    # On a CPU in bfloat16, frozen linear weights (a served model, the base under an RFT job's
    # adapter) get a second copy in oneDNN's packed layout: decoding runs ~1.4-1.9x faster, to the
    # same bits, for twice the weights' memory (lm/packed_linear.py). false: one copy.
    packed_weights: bool = True
    # Training on a CUDA GPU with liger-kernel installed (openft[gpu]): Liger's Triton kernels for
    # RMSNorm, the rotary embedding and SwiGLU (lm/fused_kernels.py), named in the job's events.
    # false: PyTorch's own.
    fused_kernels: bool = True
    # Inference (/v1/chat/completions, /v1/completions), loaded on the first request.
    serve_engine: Literal["auto", "transformers", "vllm"] = (
        "auto"  # auto: vLLM when installed and a GPU is present
    )
    serve_max_adapters: int = 8  # LoRA adapters kept loaded per base model (least recently used evicted)
    serve_max_batch_size: int = 16  # sequences decoded together
    serve_default_max_tokens: int = (
        4096  # cap when a request sets no max_tokens (the context is the other limit)
    )
    serve_cpu_threads: int = 0  # torch threads of the engine; 0: one per core but one (left to the API)
    # Graders. Python graders run sandboxed: "auto" and "bwrap" use bubblewrap and refuse python
    # graders when it does not work; "process" opts into the weaker fallback (README: what each isolates).
    grader_sandbox: Literal["auto", "bwrap", "process"] = "auto"
    grader_timeout_seconds: float = 120.0  # wall clock per grading, any type (python: CPU time too, x cores)
    grader_memory_bytes: int = 2 * 1024**3  # address space
    grader_disk_bytes: int = 1024**3  # scratch space (and the largest file it may write)
    grader_cpu_cores: int = 2
    grader_max_processes: int = 64  # processes and threads
    grader_max_output_bytes: int = 1024**2  # stdout / stderr each; more stops the grader
    grader_concurrency: int = 4  # python graders (and text_similarity workers) at once per process
    grader_max_sample_bytes: int = 64 * 1024  # /graders/run model_sample; any rendered grader text
    grader_max_item_bytes: int = 1024**2  # /graders/run item, as JSON
    # score_model / label_model: an external OpenAI-compatible endpoint when set, else this server's engine.
    grader_api_base: str | None = None  # e.g. https://api.openai.com/v1
    grader_api_key: str | None = None
    grader_model_timeout_seconds: float = 300.0
    # Weights & Biases, for jobs with a wandb integration: one key for every project, or a key per
    # project id; the host of a self-hosted W&B server (else WANDB_BASE_URL, else wandb.ai).
    wandb_api_key: str | None = None
    wandb_project_api_keys: dict[str, str] = Field(default_factory=dict)
    wandb_host: str | None = None

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'openft.db').resolve()}"

    def wandb_key(self, project_id: str) -> str | None:
        """The W&B API key a project's jobs log with (None: no W&B for it)."""
        return self.wandb_project_api_keys.get(project_id) or self.wandb_api_key

    @property
    def open_access(self) -> bool:
        return not self.api_keys

    def for_training_process(self, data_dir: Path, database_url: str) -> str:
        """These settings as JSON for a training process (no API keys: it needs none)."""
        data = self.model_dump(mode="json", exclude={"api_keys"})
        return json.dumps({**data, "data_dir": str(data_dir), "database_url": database_url})

    @classmethod
    def load(cls) -> Settings:
        """From a worker's hand-over when present, else from the environment."""
        handed_over = os.environ.get(SETTINGS_ENV)
        return cls(**json.loads(handed_over)) if handed_over else cls()
