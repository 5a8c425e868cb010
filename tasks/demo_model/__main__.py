"""``python -m flywheel.tasks.demo_model [--port N] [--latency-ms MS]``: serve the demo model until killed.

Prints ``listening on <base URL>`` on its first line of stdout.
"""

from __future__ import annotations

import argparse
import sys
import threading

from flywheel.tasks.demo_model._server import DemoModelServer, FaultPlan


def main() -> None:
    """Parse the flags and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = DemoModelServer(FaultPlan(latency_ms=args.latency_ms), host=args.host,
                             port=args.port).start()
    sys.stdout.write(f"listening on {server.base_url}\n")
    sys.stdout.flush()
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()


if __name__ == "__main__":
    main()
