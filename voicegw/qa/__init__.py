"""Evaluation building blocks: the manifest, scoring text normalisation, and per-clip scores.

Everything here is pure (no model, no network): the runner replays clips and hands the
outcomes to :func:`voicegw.qa.scoring.score_clip` and :func:`voicegw.qa.scoring.summarize`.
"""
