"""The nudger: each rep's morning DM digest of the deals stuck in maybe-land, exactly once a local day.

One module per job:
- `due`      who is due now, in their Slack zone (and keeping zones fresh)
- `plan`     every due digest from a handful of whole-org queries, the scan read ahead
- `render`   the digest as Block Kit (and as plain text for `hardno digest --dry-run`)
- `deliver`  the sweep and `hardno digest`: each digest through handlers/delivery.py
- `clicks`   the digest's buttons, merged into the posted digest in place
- `settings` `/deal settings digest ...`

The rules live in `handlers.domain.stalls` (pure); when a digest is due in `handlers.domain.schedule`.
"""

from handlers.digest.clicks import register
from handlers.digest.deliver import DigestReport, run_digests, sweep_digests
from handlers.digest.settings import AREA as SETTINGS

__all__ = ["SETTINGS", "DigestReport", "register", "run_digests", "sweep_digests"]
