"""What every route of one gateway app shares, under one typed app key."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web

from voicegw.asr.engine import TranscriberPool
from voicegw.backend.client import SkillClient
from voicegw.backend.embedded import EmbeddedBackend
from voicegw.errors import ModelError
from voicegw.gateway.faq_sync import FaqSync
from voicegw.experiments.config import Experiment
from voicegw.gateway.metrics import Metrics
from voicegw.nlu.menu import Menu
from voicegw.pipeline import Pipeline
from voicegw.settings import Settings


@dataclass
class Services:
    """Everything a route needs, built once per app."""

    settings: Settings
    menus: Mapping[str, Menu]
    experiments: Mapping[str, Experiment] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    pool: TranscriberPool | None = None
    backend: SkillClient | None = None
    embedded: EmbeddedBackend | None = None
    model_ready: asyncio.Event = field(default_factory=asyncio.Event)
    model_error: ModelError | None = None
    pipeline: Pipeline | None = None
    faq_sync: FaqSync | None = None


SERVICES = web.AppKey("services", Services)
