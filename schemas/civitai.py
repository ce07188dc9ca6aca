"""Civitai REST API v1 responses, tolerant of the drift documented in notes/civitai-api.md.

Everything a crawler meets in the wild parses here without raising: 2023 stats (`rating`,
`ratingCount`) and today's (`thumbsUpCount`), `meta` null or wrapped as `{"id", "meta"}`,
`Model` given as an object, numbers sent as strings, `nsfw` as a boolean or a level name.
Values that cannot be read become `None`; the filter stage turns them into counted rejects.
Unknown keys are kept (`extra="allow"`) because the raw layer must lose nothing.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from schemas.civitai_base import _Tolerant, loose_float, loose_int, loose_str
from schemas.civitai_images import Image


class Stats(_Tolerant):
    download_count: int = Field(0, alias="downloadCount")
    rating_count: int = Field(0, alias="ratingCount")
    rating: float = 0.0
    thumbs_up_count: int = Field(0, alias="thumbsUpCount")
    thumbs_down_count: int = Field(0, alias="thumbsDownCount")
    favorite_count: int = Field(0, alias="favoriteCount")

    @field_validator(
        "download_count",
        "rating_count",
        "thumbs_up_count",
        "thumbs_down_count",
        "favorite_count",
        mode="before",
    )
    @classmethod
    def _count(cls, value: Any) -> int:
        return loose_int(value) or 0

    @field_validator("rating", mode="before")
    @classmethod
    def _rating(cls, value: Any) -> float:
        return loose_float(value) or 0.0


class FileMetadata(_Tolerant):
    format: str | None = None
    fp: str | None = None
    size: str | None = None


class ModelFile(_Tolerant):
    id: int | None = None
    name: str = ""
    type: str | None = None
    size_kb: float | None = Field(None, alias="sizeKB")
    metadata: FileMetadata = Field(default_factory=FileMetadata)
    hashes: dict[str, str] = Field(default_factory=dict)
    download_url: str | None = Field(None, alias="downloadUrl")
    primary: bool = False
    pickle_scan_result: str | None = Field(None, alias="pickleScanResult")
    virus_scan_result: str | None = Field(None, alias="virusScanResult")

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("hashes", mode="before")
    @classmethod
    def _hashes(cls, value: Any) -> dict[str, str]:
        if not isinstance(value, dict):
            return {}
        return {str(k): str(v) for k, v in value.items() if isinstance(v, (str, int))}

    @property
    def is_safetensors(self) -> bool:
        if self.metadata.format is not None:
            return self.metadata.format == "SafeTensor"
        return self.name.lower().endswith(".safetensors")

    @property
    def sha256(self) -> str | None:
        value = self.hashes.get("SHA256")
        return value.upper() if value else None

    @property
    def autov3(self) -> str | None:
        """Civitai's AutoV3 (its tensor data's SHA256, 12 digits): what A1111 names a LoRA by."""
        value = self.hashes.get("AutoV3")
        return value.upper() if value else None


class ModelVersion(_Tolerant):
    id: int
    model_id: int | None = Field(None, alias="modelId")
    name: str = ""
    base_model: str | None = Field(None, alias="baseModel")
    created_at: str | None = Field(None, alias="createdAt")
    published_at: str | None = Field(None, alias="publishedAt")
    trained_words: list[str] = Field(default_factory=list, alias="trainedWords")
    description: str | None = None
    files: list[ModelFile] = Field(default_factory=list)
    images: list[Image] = Field(default_factory=list)
    stats: Stats = Field(default_factory=Stats)
    download_url: str | None = Field(None, alias="downloadUrl")
    model: dict[str, Any] | None = None  # present on /model-versions answers
    # Today's paid gate: {"permanent": bool, "endsAt": date | null} while active, else null.
    paid_access: dict[str, Any] | None = Field(None, alias="paidAccess")

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        number = loose_int(value)
        return number if number is not None else value

    @field_validator("model_id", mode="before")
    @classmethod
    def _model_id(cls, value: Any) -> int | None:
        return loose_int(value)

    @field_validator("trained_words", mode="before")
    @classmethod
    def _words(cls, value: Any) -> list[str]:
        if not isinstance(value, list):
            return []
        return [w for w in value if isinstance(w, str) and w.strip()]

    @field_validator("files", "images", mode="before")
    @classmethod
    def _list(cls, value: Any) -> list[Any]:
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []

    @field_validator("stats", mode="before")
    @classmethod
    def _stats(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("paid_access", mode="before")
    @classmethod
    def _paid_access(cls, value: Any) -> dict[str, Any] | None:
        return value if isinstance(value, dict) else None

    def primary_safetensors(self) -> ModelFile | None:
        """The file a user would download: the primary model file if it is safetensors, else the
        first safetensors model file; None when the version has no safetensors weights."""
        model_files = [f for f in self.files if f.type in (None, "Model")]
        ordered = sorted(model_files, key=lambda f: not f.primary)
        for file in ordered:
            if file.is_safetensors:
                return file
        return None


class Creator(_Tolerant):
    username: str | None = None


class Model(_Tolerant):
    id: int
    name: str = ""
    description: str | None = None
    type: str | None = None
    nsfw: bool = False
    nsfw_level: int | None = Field(None, alias="nsfwLevel")
    poi: bool = False
    tags: list[str] = Field(default_factory=list)
    creator: Creator | None = None
    stats: Stats = Field(default_factory=Stats)
    model_versions: list[ModelVersion] = Field(default_factory=list, alias="modelVersions")

    @field_validator("id", mode="before")
    @classmethod
    def _id(cls, value: Any) -> Any:
        number = loose_int(value)
        return number if number is not None else value

    @field_validator("nsfw", "poi", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> bool:
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1", "yes")
        return bool(value)

    @field_validator("nsfw_level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> int | None:
        return loose_int(value)

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> list[str]:
        if not isinstance(value, list):
            return []
        # Older answers list tags as strings, some as {"name": ...} objects.
        names = [loose_str(t) for t in value]
        return [n for n in names if n]

    @field_validator("stats", mode="before")
    @classmethod
    def _stats(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}

    @field_validator("creator", mode="before")
    @classmethod
    def _creator(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else None

    @field_validator("model_versions", mode="before")
    @classmethod
    def _versions(cls, value: Any) -> list[Any]:
        return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class PageMetadata(_Tolerant):
    next_cursor: str | None = Field(None, alias="nextCursor")
    next_page: str | None = Field(None, alias="nextPage")

    @field_validator("next_cursor", mode="before")
    @classmethod
    def _cursor(cls, value: Any) -> str | None:
        # Cursors are opaque strings today and numbers in older data; keep them as text.
        if value is None or value == "":
            return None
        return str(value)


class Page(_Tolerant):
    items: list[dict[str, Any]] = Field(default_factory=list)
    metadata: PageMetadata = Field(default_factory=PageMetadata)

    @field_validator("metadata", mode="before")
    @classmethod
    def _metadata(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else {}
