"""Kept for ``operations/projections.py`` only (it builds the quality projection from here): the
projection is ``adapters/contract_projection.py``, its handler ``apply_contract_events.py``.
Remove once that import points at the adapter."""
from services.quality.adapters.contract_projection import QualityProjection

__all__ = ["QualityProjection"]
