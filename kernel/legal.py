"""Legal periods more than one service applies (docs/domain.md, docs/financing.md)."""
from __future__ import annotations

# L6222-18-2: after a rupture the apprentice may stay at the CFA, as a trainee, for at most
# 6 months (the contracts service bounds the declaration, financing the funded span).
POST_RUPTURE_MONTHS = 6
